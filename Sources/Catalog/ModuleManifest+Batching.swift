/// Whether invocations of a module can run as one batch.
extension ModuleManifest {
    /// An `onnx` module run once per invocation (`single-run`) whose every input and output leads
    /// with the same symbolic dimension, used nowhere else in them (e.g. `[N,3,224,224]` →
    /// `[N,1280]`): invocations that agree on the other dimensions can be joined along it and the
    /// outputs split back row by row.
    public var isBatchable: Bool {
        guard kind == .onnx, driver == Self.singleRunDriver, !callInputs.isEmpty, !callOutputs.isEmpty,
            case .symbol(let batch)? = callInputs.first?.shape.first
        else { return false }
        return (callInputs + callOutputs).allSatisfy { declaration in
            guard case .symbol(batch)? = declaration.shape.first else { return false }
            return !declaration.shape.dropFirst().contains(.symbol(batch))
        }
    }
}
