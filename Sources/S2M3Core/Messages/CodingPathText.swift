extension Error {
    /// A one-line description of a decoding error: what was expected and where.
    var shortDescription: String {
        guard let error = self as? DecodingError else { return String(describing: self) }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \(CodingPathText.join(context.codingPath + [key]))"
        case .typeMismatch(let type, let context):
            return "\(CodingPathText.join(context.codingPath)) is not \(CodingPathText.typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(CodingPathText.join(context.codingPath)) is null, expected \(CodingPathText.typeName(type))"
        case .dataCorrupted(let context):
            let path = CodingPathText.join(context.codingPath)
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return String(describing: error)
        }
    }
}

/// Renders coding paths as `modules[0].p50Ms`.
enum CodingPathText {
    static func join(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue, key.stringValue == String(index) || key.stringValue == "Index \(index)", !(key is AnyCodingKey) {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type: "a whole number"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default:
            String(describing: type).hasPrefix("Dictionary") ? "an object" : "a \(type)"
        }
    }
}
