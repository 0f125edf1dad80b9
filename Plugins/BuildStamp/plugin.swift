import Foundation
import PackagePlugin

/// Writes BuildStamp.swift for `pretrain --version`: the git commit the binary was built from, or "unknown" outside
/// a git checkout or without git. The command runs again when .git/HEAD or .git/index changes (a checkout, a commit,
/// a pull), so a rebuilt binary names the commit it was built from; an edit that is not committed does not show.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let file = context.pluginWorkDirectoryURL.appendingPathComponent("BuildStamp.swift")
        let root = context.package.directoryURL
        let git = root.appendingPathComponent(".git")
        let inputs = ["HEAD", "index"].map { git.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        let script = """
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            printf 'let buildCommit = "%s"\\n' "$commit" > "$2"
            """
        return [.buildCommand(displayName: "Stamping the git commit for pretrain --version",
                              executable: URL(fileURLWithPath: "/bin/sh"),
                              arguments: ["-c", script, "stamp", root.path, file.path],
                              inputFiles: inputs, outputFiles: [file])]
    }
}
