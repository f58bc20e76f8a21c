import S2M3Core

/// A built-in module's settings: the catalog entry's `"settings"` object, read key by key. Every
/// accessor throws an `invalidModule` ``CatalogError`` naming the key and what it accepts; a built-in
/// reads its keys, then ``checkNoOtherKeys(than:)`` rejects the rest.
public struct BuiltinSettings: Sendable, Hashable {
    public let values: [String: JSONValue]
    /// The module id, for errors.
    public let module: String

    public init(_ values: [String: JSONValue], module: String) {
        self.values = values
        self.module = module
    }

    /// Canonical text of the settings (part of the module's digest); "" when there are none.
    public var canonical: String { values.isEmpty ? "" : JSONValue.object(values).description }

    public func checkNoOtherKeys(than known: [String]) throws(CatalogError) {
        for key in values.keys.sorted() where !known.contains(key) {
            let accepted = known.isEmpty ? "this built-in takes no settings" : "it takes \(known.joined(separator: ", "))"
            throw error(key, "is not a setting of this built-in: \(accepted)")
        }
    }

    /// An integer in `range`, or `fallback` when absent.
    public func integer(_ key: String, in range: ClosedRange<Int>, default fallback: Int) throws(CatalogError) -> Int {
        guard let value = values[key] else { return fallback }
        guard let integer = Self.integer(value, in: range) else {
            throw error(key, "must be an integer from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
        return integer
    }

    /// One integer (a square) or `[width, height]`, each in `range`; nil when absent.
    public func size(_ key: String, in range: ClosedRange<Int>) throws(CatalogError) -> (width: Int, height: Int)? {
        guard let value = values[key] else { return nil }
        if let side = Self.integer(value, in: range) { return (side, side) }
        if case .array(let items) = value, items.count == 2,
           let width = Self.integer(items[0], in: range), let height = Self.integer(items[1], in: range) {
            return (width, height)
        }
        throw error(key, "must be an integer or [width, height], each from \(range.lowerBound) to \(range.upperBound), not \(value)")
    }

    /// One of `choices` (the first is the default).
    public func choice(_ key: String, _ choices: [String]) throws(CatalogError) -> String {
        guard let value = values[key] else { return choices[0] }
        guard case .string(let text) = value, choices.contains(text) else {
            throw error(key, "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), not \(value)")
        }
        return text
    }

    /// A non-empty string, or `fallback` when absent.
    public func string(_ key: String, default fallback: String) throws(CatalogError) -> String {
        guard let value = values[key] else { return fallback }
        guard case .string(let text) = value, !text.isEmpty else { throw error(key, "must be a non-empty string, not \(value)") }
        return text
    }

    /// `count` finite numbers, each satisfying `valid` (described by `rule`), or `fallback` when absent.
    public func numbers(
        _ key: String, count: Int, default fallback: [Float], rule: String = "finite", where valid: (Float) -> Bool = { _ in true }
    ) throws(CatalogError) -> [Float] {
        guard let value = values[key] else { return fallback }
        if case .array(let items) = value, items.count == count {
            let numbers = items.compactMap { item -> Float? in
                guard case .number(let number) = item, number.isFinite, abs(number) < 1e6, valid(Float(number)) else { return nil }
                return Float(number)
            }
            if numbers.count == count { return numbers }
        }
        throw error(key, "must be \(count) numbers (\(rule)), not \(value)")
    }

    public func error(_ key: String, _ message: String) -> CatalogError {
        CatalogError(.invalidModule, entry: module, "setting \"\(key)\" \(message) (see docs/catalog.md)")
    }

    private static func integer(_ value: JSONValue, in range: ClosedRange<Int>) -> Int? {
        guard case .number(let number) = value, number.rounded() == number,
              number >= Double(range.lowerBound), number <= Double(range.upperBound) else { return nil }
        return Int(number)
    }
}
