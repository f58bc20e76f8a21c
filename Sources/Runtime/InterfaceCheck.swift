import Catalog
import Inference

/// Compares a module's declared interface with the one its ONNX file reports
/// (``InferenceSession/inputs`` and ``InferenceSession/outputs``).
public enum InterfaceCheck {
    /// Problems found, empty when the declaration fits the model. Tensors are matched by name; a
    /// fixed size in the catalog may narrow a dynamic dimension of the model, but two fixed sizes must
    /// be equal.
    public static func mismatches(
        of module: ModuleManifest, modelInputs: [TensorSpec], modelOutputs: [TensorSpec]
    ) -> [String] {
        mismatches(inputs: module.inputs, outputs: module.outputs, modelInputs: modelInputs, modelOutputs: modelOutputs)
    }

    /// The same check for a declaration not (yet) in a loaded catalog.
    public static func mismatches(
        inputs: [TensorDeclaration], outputs: [TensorDeclaration], modelInputs: [TensorSpec], modelOutputs: [TensorSpec]
    ) -> [String] {
        compare("input", inputs, modelInputs) + compare("output", outputs, modelOutputs)
    }

    /// Throws ``CatalogError/Code/interfaceMismatch`` naming the module when ``mismatches`` finds any.
    public static func verify(
        _ module: ModuleManifest, modelInputs: [TensorSpec], modelOutputs: [TensorSpec]
    ) throws(CatalogError) {
        let problems = mismatches(of: module, modelInputs: modelInputs, modelOutputs: modelOutputs)
        if !problems.isEmpty {
            throw CatalogError(
                .interfaceMismatch, entry: module.id,
                "the catalog's interface differs from the model file's: \(problems.joined(separator: "; "))")
        }
    }

    private static func compare(_ role: String, _ declared: [TensorDeclaration], _ model: [TensorSpec]) -> [String] {
        var problems: [String] = []
        let byName = Dictionary(model.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for tensor in declared {
            guard let spec = byName[tensor.name] else {
                problems.append("\(role) '\(tensor.name)' is not in the model (it has \(model.map(\.name)))")
                continue
            }
            if spec.elementType?.rawValue != tensor.dtype {
                problems.append("\(role) '\(tensor.name)' is \(spec.elementType?.rawValue ?? "non-tensor") in the model, \(tensor.dtype) in the catalog")
            }
            if spec.shape.count != tensor.shape.count {
                problems.append("\(role) '\(tensor.name)' has rank \(spec.shape.count) in the model, \(tensor.shape.count) in the catalog")
                continue
            }
            for (index, (modelSize, dimension)) in zip(spec.shape, tensor.shape).enumerated() {
                if case .fixed(let size) = dimension, let modelSize, modelSize != size {
                    problems.append("\(role) '\(tensor.name)' dimension \(index) is \(modelSize) in the model, \(size) in the catalog")
                }
            }
        }
        let declaredNames = Set(declared.map(\.name))
        for spec in model where !declaredNames.contains(spec.name) {
            problems.append("model \(role) '\(spec.name)' is not declared in the catalog")
        }
        return problems
    }
}
