import Foundation
import PackagePlugin

/// Writes BuildStamp.swift for `pretrain --version`: the git commit the binary was built from (with "-dirty" when the
/// checkout had changes), or "unknown" outside a git checkout or without git. A prebuild command runs before every
/// build; it rewrites the file only when the line changes, so an unchanged commit recompiles nothing.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("stamp")
        let file = output.appendingPathComponent("BuildStamp.swift").path
        let script = """
            cd "$1" || exit 0
            commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                commit="$commit-dirty"
            fi
            line="let buildCommit = \\"$commit\\""
            mkdir -p "$(dirname "$2")"
            [ "$(cat "$2" 2>/dev/null)" = "$line" ] || printf '%s\\n' "$line" > "$2"
            """
        return [.prebuildCommand(displayName: "Stamping the git commit for pretrain --version",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "stamp", context.package.directoryURL.path, file],
                                 outputFilesDirectory: output)]
    }
}
