import Foundation

/// What to print if the process traps while parsing an input: the input's number and family and the command that
/// makes it again. A Swift trap (SIGILL/SIGTRAP), a stack overflow (SIGSEGV, handled on an alternate stack) or an
/// abort cannot be caught, so the message is written into a fixed buffer before each input and the handler only
/// writes it out and re-raises the signal; the parent sees the process die by that signal.
enum CrashReport {
    private static let capacity = 4096
    nonisolated(unsafe) private static var buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    nonisolated(unsafe) private static var length = 0
    private static let signals = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    /// Installs the handlers (with an alternate signal stack for this thread, so that a stack overflow is reported).
    static func install() {
        let stackSize = 1 << 16
        var stack = stack_t()
        stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: stackSize, alignment: 16)
        stack.ss_size = stackSize
        stack.ss_flags = 0
        sigaltstack(&stack, nil)
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                _ = write(2, CrashReport.buffer, CrashReport.length)
                signal(number, SIG_DFL)
                raise(number)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = Int32(SA_ONSTACK)
            sigaction(number, &action, nil)
        }
    }

    /// The message printed if the next input traps.
    static func prepare(_ message: String) {
        let bytes = Array(("\n" + message + "\n").utf8.prefix(capacity))
        bytes.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress!, byteCount: bytes.count)
        }
        length = bytes.count
    }

    /// Writes `message` to stderr at once (from the watchdog, before the process ends).
    static func writeNow(_ message: String) {
        let bytes = Array(("\n" + message + "\n").utf8)
        _ = bytes.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count) }
    }
}
