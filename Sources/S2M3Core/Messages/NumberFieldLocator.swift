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
}

/// The locator's walk over a document.
extension JSONValue {
    func collectSuspiciousNumbers(path: [NumberFieldLocator.PathStep], into out: inout [[NumberFieldLocator.PathStep]]) {
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

    func replacing(path: ArraySlice<NumberFieldLocator.PathStep>, with replacement: JSONValue) -> JSONValue {
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
