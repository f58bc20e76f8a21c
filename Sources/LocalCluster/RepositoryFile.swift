import Foundation

/// Finds a file of the S2M3 repository (a broker config, the catalog, a benchmark script) by its
/// path relative to the repository: in the current directory and its parents, then in the
/// directories above the executable (a `.build/…/s2m3` inside the repository).
public enum RepositoryFile {
    public static func find(_ relativePath: String) -> String? {
        for start in [FileManager.default.currentDirectoryPath, executableDirectory()] {
            var url = URL(fileURLWithPath: start)
            for _ in 0..<7 {
                let candidate = url.appendingPathComponent(relativePath).path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                url.deleteLastPathComponent()
            }
        }
        return nil
    }

    private static func executableDirectory() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
