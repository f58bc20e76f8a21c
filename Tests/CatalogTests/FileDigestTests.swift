import Catalog
import Foundation
import Testing

@Suite("File digests remembered next to the file")
struct FileDigestTests {
    @Test("the remembered digest is used while size and time match, and replaced when the file changes")
    func remembered() throws {
        let directory = NSTemporaryDirectory() + "s2m3-digest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/weights.onnx"
        try Data("first".utf8).write(to: URL(fileURLWithPath: path))
        let first = try #require(FileDigest.sha256(ofFileAt: path))
        #expect(first == SHA256.hex(of: "first"))
        let sidecar = try String(contentsOfFile: path + ".sha256", encoding: .utf8)
        #expect(sidecar.hasSuffix(" \(first)\n"))

        // A forged sidecar with the current stamp is trusted (that is the cache)...
        let stamp = try #require(sidecar.split(separator: " ").first)
        let forged = String(repeating: "a", count: 64)
        try "\(stamp) \(forged)\n".write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
        #expect(FileDigest.sha256(ofFileAt: path) == forged)

        // ...but a change of the file (same size, new time) is hashed again.
        try Data("secnd".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: 5)], ofItemAtPath: path)
        #expect(FileDigest.sha256(ofFileAt: path) == SHA256.hex(of: "secnd"))
        #expect(FileDigest.sha256(ofFileAt: directory + "/missing.onnx") == nil)
    }
}
