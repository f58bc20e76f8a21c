import Foundation
import S2M3Core

/// Stream subscriptions an operator declares in a file (`s2m3 aggregator --streams-config FILE`,
/// docs/streams.md): the JSON of retained `s2m3.stream-subscription/1` messages, either an object
/// of name → subscription or a list of subscriptions (named by an optional `name` field, else
/// `config-{n}`, counting from 1). Each is read with the same checks as a retained one.
public enum StreamSubscriptionFile {
    /// A file larger than this is refused before it is read.
    public static let maxBytes = 16 << 20
    /// At most this many subscriptions per file.
    public static let maxSubscriptions = 1_024

    /// A file that cannot be used: its path and what is wrong.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public let path: String
        public let message: String
        public var description: String { "\(path): \(message)" }
    }

    /// Reads and checks the subscriptions of the file at `path` (name → subscription).
    public static func load(path: String) throws(Problem) -> [String: StreamSubscription] {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue, attributes?[.type] as? FileAttributeType == .typeRegular,
              let data = FileManager.default.contents(atPath: path)
        else { throw Problem(path: path, message: "cannot be read (no such file, or not a regular file)") }
        guard size <= maxBytes, data.count <= maxBytes else {
            throw Problem(path: path, message: "has \(max(size, data.count)) bytes; at most \(maxBytes) are read")
        }
        return try parse(data, path: path)
    }

    /// The subscriptions of a file's contents (name → subscription).
    public static func parse(_ data: Data, path: String) throws(Problem) -> [String: StreamSubscription] {
        let top: Any
        do {
            top = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw Problem(path: path, message: "is not JSON: \(detail)")
        }
        var entries: [(name: String, where: String, value: Any)] = []
        if let object = top as? [String: Any] {
            if object["schema"] != nil {
                throw Problem(path: path, message: "is one subscription; give an object of name → subscription or a list")
            }
            entries = object.keys.sorted().map { ($0, "'\($0)'", object[$0]!) }
        } else if let list = top as? [Any] {
            for (index, value) in list.enumerated() {
                let name = ((value as? [String: Any])?["name"] as? String) ?? "config-\(index + 1)"
                entries.append((name, "entry \(index) ('\(name)')", value))
            }
        } else {
            throw Problem(path: path, message: "must be an object of name → subscription or a list of subscriptions")
        }
        guard entries.count <= maxSubscriptions else {
            throw Problem(path: path, message: "has \(entries.count) subscriptions; at most \(maxSubscriptions)")
        }
        var out: [String: StreamSubscription] = [:]
        for entry in entries {
            guard Topics.isValidIdentifier(entry.name) else {
                throw Problem(path: path, message: "subscription name \(entry.where) must be 1–128 letters, digits, '-', '_', '.'")
            }
            guard out[entry.name] == nil else { throw Problem(path: path, message: "subscription name '\(entry.name)' is given twice") }
            do {
                let json = try JSONSerialization.data(withJSONObject: entry.value, options: [.fragmentsAllowed])
                out[entry.name] = try StreamSubscription(json: json)
            } catch let error as MessageError {
                throw Problem(path: path, message: "subscription \(entry.where) cannot be read: \(error.description)")
            } catch {
                throw Problem(path: path, message: "subscription \(entry.where) cannot be read: \(error.localizedDescription)")
            }
        }
        return out
    }
}
