/// The declared interface of one model input or output.
public struct TensorSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    /// `nil` when the value is not a tensor (a sequence or a map, e.g. scikit-learn's ZipMap output).
    public var elementType: TensorElementType?
    /// Dimensions; `nil` for a dynamic dimension.
    public var shape: [Int?]
    /// Names of symbolic dimensions (e.g. "batch"), "" where the model gives none.
    public var dimensionNames: [String]

    public init(name: String, elementType: TensorElementType?, shape: [Int?], dimensionNames: [String] = []) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
        self.dimensionNames = dimensionNames.isEmpty ? Array(repeating: "", count: shape.count) : dimensionNames
    }

    /// Whether `tensorShape` fits this spec: same rank, and equal wherever the spec fixes a dimension.
    public func accepts(shape tensorShape: [Int]) -> Bool {
        guard tensorShape.count == shape.count else { return false }
        return zip(shape, tensorShape).allSatisfy { declared, actual in declared.map { $0 == actual } ?? true }
    }

    /// The shape as text, e.g. `[batch, 3, 224, 224]` (`?` for an unnamed dynamic dimension).
    public var shapeDescription: String {
        let dims = zip(shape, dimensionNames).map { dim, name in dim.map(String.init) ?? (name.isEmpty ? "?" : name) }
        return "[\(dims.joined(separator: ", "))]"
    }

    public var description: String { "\(name): \(elementType?.rawValue ?? "non-tensor")\(shapeDescription)" }
}
