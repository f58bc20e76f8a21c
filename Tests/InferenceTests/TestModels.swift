import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Where the engine's tests find real ONNX models: the small models shipped in the onnxruntime
/// wheel, kept by scripts/setup.d/10-onnxruntime.sh in `${S2M3_CACHE:-<repo>/.cache}/onnxruntime-datasets`.
enum TestModels {
    static var cacheDirectory: String { TestPaths.cache.path }

    /// Path of a model from the onnxruntime wheel's `datasets` folder; fails the test with a hint
    /// when set-up has not been run.
    static func dataset(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = cacheDirectory + "/onnxruntime-datasets/" + name
        try #require(access(path, R_OK) == 0, "missing \(path): run scripts/setup.sh (with the same S2M3_CACHE)", sourceLocation: sourceLocation)
        return path
    }

    /// A fresh path in the temporary directory.
    static func temporaryPath(_ suffix: String) -> String {
        "/tmp/s2m3-inference-tests-\(getpid())-\(UInt64.random(in: 0...UInt64.max))\(suffix)"
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let file = try #require(fopen(path, "wb"), "cannot create \(path)")
        defer { fclose(file) }
        #expect(fwrite(bytes, 1, bytes.count, file) == bytes.count)
    }
}
