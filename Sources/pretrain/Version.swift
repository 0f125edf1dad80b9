import Foundation
import Tensors

/// The version of swift-pretrain; a release raises it by hand. The commit (`buildCommit`) is stamped at build time by
/// Plugins/BuildStamp.
let pretrainVersion = "0.1.0"

/// `pretrain --version`: the version, how the binary was built, and the matrix backend it runs on here (as
/// `pretrain sysinfo` reports it, without the measurements).
func versionDescription() -> String {
    #if DEBUG
    let configuration = "debug"
    #else
    let configuration = "release"
    #endif
    #if compiler(>=6.3)
    let compiler = "Swift 6.3 or later"
    #elseif compiler(>=6.2)
    let compiler = "Swift 6.2"
    #elseif compiler(>=6.1)
    let compiler = "Swift 6.1"
    #else
    let compiler = "Swift 6.0"
    #endif
    #if arch(x86_64)
    let architecture = "x86_64"
    #elseif arch(arm64)
    let architecture = "arm64"
    #else
    let architecture = "another architecture"
    #endif
    let backend = Matmul.backend
    return """
        pretrain \(pretrainVersion) (commit \(buildCommit))
        build:   \(configuration), \(compiler), \(architecture)
        backend: \(backend.name) (\(Matmul.choice)), \(backend.isa)
        """
}
