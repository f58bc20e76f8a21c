import Foundation

/// Finds which number in a JSON document made decoding fail when Foundation reports it without a
/// coding path: each suspicious number (a fraction, or too large for a 64-bit integer) is replaced
/// by 0 in turn, and the first replacement that removes the failure names the field.
/// Used only on the error path.
enum NumberFieldLocator {
    static func locate<T: Decodable>(in json: Data, type: T.Type, maxAttempts: Int = 64) -> String? {
        guard let tree = try? JSONDecoder().decode(JSONValue.self, from: json) else { return nil }
        var candidates: [[PathStep]] = []
        tree.collectSuspiciousNumbers(path: [], into: &candidates)
        for path in candidates.prefix(maxAttempts) {
            let patched = tree.replacing(path: path[...], with: .number(0))
            guard let data = try? JSONEncoder().encode(patched) else { continue }
            do {
                _ = try JSONDecoder().decode(type, from: data)
                return render(path)
            } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
                continue
            } catch {
                return render(path)
            }
        }
        return nil
    }

    enum PathStep: Equatable { case key(String), index(Int) }

    static func render(_ path: [PathStep]) -> String {
        var out = ""
        for step in path {
            switch step {
            case .key(let key): out += out.isEmpty ? key : ".\(key)"
            case .index(let index): out += "[\(index)]"
            }
        }
        return out
    }

    /// A JSON document as a tree.
    indirect enum JSONValue: Codable {
        case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
            else { self = .object(try container.decode([String: JSONValue].self)) }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }

        func collectSuspiciousNumbers(path: [PathStep], into out: inout [[PathStep]]) {
            switch self {
            case .number(let value) where value.rounded() != value || abs(value) >= 9.2e18:
                out.append(path)
            case .array(let items):
                for (index, item) in items.enumerated() { item.collectSuspiciousNumbers(path: path + [.index(index)], into: &out) }
            case .object(let members):
                for key in members.keys.sorted() { members[key]!.collectSuspiciousNumbers(path: path + [.key(key)], into: &out) }
            default:
                break
            }
        }

        func replacing(path: ArraySlice<PathStep>, with replacement: JSONValue) -> JSONValue {
            guard let step = path.first else { return replacement }
            switch (self, step) {
            case (.array(var items), .index(let index)) where items.indices.contains(index):
                items[index] = items[index].replacing(path: path.dropFirst(), with: replacement)
                return .array(items)
            case (.object(var members), .key(let key)) where members[key] != nil:
                members[key] = members[key]!.replacing(path: path.dropFirst(), with: replacement)
                return .object(members)
            default:
                return self
            }
        }
    }
}
