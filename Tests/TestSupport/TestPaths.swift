import Foundation

/// Where tests find the repository and the set-up's cache, in one place for every test target.
/// The cache is `$S2M3_CACHE` when set, else `<repo>/.cache` (as in scripts/setup.sh).
public enum TestPaths {
    /// The repository root (this file is `Tests/TestSupport/TestPaths.swift`).
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The set-up's cache folder (models, fixtures, the onnxruntime wheel's test models).
    public static var cache: URL {
        if let root = ProcessInfo.processInfo.environment["S2M3_CACHE"], !root.isEmpty {
            return URL(fileURLWithPath: root)
        }
        return repository.appendingPathComponent(".cache")
    }
}

extension TestPaths {
    /// The `s2m3` executable built next to the running test bundle (or `$S2M3_EXECUTABLE`).
    public static var s2m3Executable: String {
        get throws {
            if let given = ProcessInfo.processInfo.environment["S2M3_EXECUTABLE"] { return given }
            let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let candidate = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("s2m3").path
            guard FileManager.default.isExecutableFile(atPath: candidate) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidate])
            }
            return candidate
        }
    }
}
