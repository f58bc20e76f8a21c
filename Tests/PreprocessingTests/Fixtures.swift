import Foundation
import TestSupport
import Testing

/// Where the pre-processing tests find their inputs and golden values.
/// - Inputs: `${S2M3_CACHE:-<repo>/.cache}/fixtures/engine`, made by scripts/setup.d/15-engine-fixtures.sh.
/// - Golden values: `Tests/Fixtures/golden/engine/*.json`, made by scripts/golden/make-engine-golden.sh.
enum Fixtures {
    static var repositoryRoot: URL { TestPaths.repository }

    static var cacheDirectory: URL { TestPaths.cache }

    /// The bytes of a fixture file; fails the test with a hint when set-up has not been run.
    static func bytes(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let url = cacheDirectory.appendingPathComponent("fixtures/engine/\(name)")
        let data = try #require(
            FileManager.default.contents(atPath: url.path),
            "missing \(url.path): run scripts/setup.sh (with the same S2M3_CACHE)", sourceLocation: sourceLocation)
        return [UInt8](data)
    }

    static func path(_ name: String) -> String {
        cacheDirectory.appendingPathComponent("fixtures/engine/\(name)").path
    }

    static func golden<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures/golden/engine/\(name)")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    /// FNV-1a 64-bit hash as 16 hex digits (the golden scripts compute the same).
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func strided<T>(_ values: [T], _ stride: Int) -> [T] {
        Swift.stride(from: 0, to: values.count, by: stride).map { values[$0] }
    }
}
