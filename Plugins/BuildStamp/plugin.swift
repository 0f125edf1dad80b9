import Foundation
import PackagePlugin

/// Writes BuildStamp.swift for `pretrain --version`: the git commit the binary was built from, or "unknown" outside
/// a git checkout or without git. The command runs again when the git directory's HEAD or index changes (a checkout,
/// a commit, a pull), so a rebuilt binary names the commit it was built from; an edit that is not committed does not
/// show.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let file = context.pluginWorkDirectoryURL.appendingPathComponent("BuildStamp.swift")
        let root = context.package.directoryURL
        let inputs = ["HEAD", "index"].map { gitDirectory(root).appendingPathComponent($0) }
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

/// The repository's git directory: .git, or in a worktree the directory its .git file names ("gitdir: PATH"), whose
/// HEAD and index change with the worktree's commits.
func gitDirectory(_ root: URL) -> URL {
    let git = root.appendingPathComponent(".git")
    guard let text = try? String(contentsOf: git, encoding: .utf8), text.hasPrefix("gitdir:") else { return git }
    let path = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
    return URL(fileURLWithPath: path, relativeTo: root).standardizedFileURL
}
