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
