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
            guard FileManager.default.isExecutableFile(atPath: candidate) else { throw MissingExecutable(path: candidate) }
            return candidate
        }
    }

    /// A file of the repository's broker-config/ folder (`dev.conf`, `secure.conf` …).
    public static func brokerConfig(_ name: String) -> String {
        repository.appendingPathComponent("broker-config").appendingPathComponent(name).path
    }
}

/// No `s2m3` next to the test bundle.
public struct MissingExecutable: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "no s2m3 at \(path); run `swift build` first (or set S2M3_EXECUTABLE)" }
}
