import Catalog
import Foundation

/// File digests recorded by the set-up (`models/SHA256SUMS` in the cache, `<sha256>  <path>` lines
/// with paths relative to the cache), so an agent can read its catalog without hashing every model
/// file at start (seconds in a debug build). A recorded digest is used only while the file is no
/// newer than the record; anything else is hashed. The digests that matter are checked anyway:
/// ``Runtime/ModuleLoader`` hashes each file again before loading it.
public struct RecordedDigests: Sendable {
    private let digests: [String: String]
    private let recordedAt: Date?

    /// Reads `SHA256SUMS` in `modelsDirectory` (none: every file is hashed).
    public init(modelsDirectory: String) {
        let sums = (modelsDirectory as NSString).appendingPathComponent("SHA256SUMS")
        let root = (modelsDirectory as NSString).deletingLastPathComponent
        var digests: [String: String] = [:]
        if let text = try? String(contentsOfFile: sums, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let path = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: " *"))
                let absolute = path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path)
                digests[(absolute as NSString).standardizingPath] = String(parts[0]).lowercased()
            }
        }
        self.digests = digests
        recordedAt = (try? FileManager.default.attributesOfItem(atPath: sums))?[.modificationDate] as? Date
    }

    /// The digest of the file at `path`: recorded when fresh, else computed.
    public func sha256(ofFileAt path: String) -> String? {
        let key = (path as NSString).standardizingPath
        if let digest = digests[key], let recordedAt,
            let modified = (try? FileManager.default.attributesOfItem(atPath: key))?[.modificationDate] as? Date,
            modified <= recordedAt
        {
            return digest
        }
        return SHA256.hex(ofFileAt: path)
    }
}
