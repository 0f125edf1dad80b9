import Dispatch
import Foundation

/// Set by the first Ctrl-C (SIGINT) or SIGTERM; a second one ends the process at once.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.isSet { exit(130) }
                self.lock.withLock { self.set = true }
                FileHandle.standardError.write(Data("\ninterrupted: stopping after this step with a checkpoint (again to quit now)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    var isSet: Bool { lock.withLock { set } }
}
