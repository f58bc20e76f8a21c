import Catalog
import S2M3Core

/// The inputs of one invocation, checked against the module's call interface, read with typed errors.
///
/// ``init(_:manifest:)`` checks every declared call input: present (`missingInput`), of its dtype
/// (`string` travels as `uint8`) and, for numeric tensors, of its rank and fixed sizes (`wrongInput`).
struct ModuleInputs {
    let module: String
    let bundle: TensorBundle

    init(_ bundle: TensorBundle, manifest: ModuleManifest) throws(ModuleError) {
        module = manifest.id
        self.bundle = bundle
        for declaration in manifest.callInputs {
            guard let tensor = bundle[declaration.name] else {
                let present = bundle.names.isEmpty ? "none" : bundle.names.joined(separator: ", ")
                throw ModuleError(.missingInput, module: module, input: declaration.name, "the invocation has no '\(declaration.name)' (present: \(present))")
            }
            let expected: TensorDType? = switch declaration.dtype {
            case "float32": .f32
            case "int64": .i64
            case "int32": .i32
            case "uint8", "string": .u8
            case "bool": .bool
            case "float16": .f16
            default: nil
            }
            if let expected, tensor.dtype != expected {
                throw ModuleError(
                    .wrongInput, module: module, input: declaration.name,
                    "is \(tensor.dtype.rawValue), expected \(declaration.dtype)\(declaration.dtype == "string" ? " (UTF-8 text as U8)" : "")")
            }
            guard declaration.dtype != "string", declaration.dtype != "uint8" else { continue }
            guard tensor.shape.count == declaration.shape.count else {
                throw ModuleError(
                    .wrongInput, module: module, input: declaration.name,
                    "has shape \(tensor.shape), expected rank \(declaration.shape.count) \(declaration.shape.map(\.description))")
            }
            for (size, dimension) in zip(tensor.shape, declaration.shape) {
                if case .fixed(let fixed) = dimension, fixed != size {
                    throw ModuleError(
                        .wrongInput, module: module, input: declaration.name,
                        "has shape \(tensor.shape), expected \(declaration.shape.map(\.description))")
                }
            }
        }
    }

    func tensor(_ name: String) throws(ModuleError) -> BundleTensor {
        guard let tensor = bundle[name] else {
            throw ModuleError(.missingInput, module: module, input: name, "the invocation has no '\(name)'")
        }
        return tensor
    }

    /// Float values and shape of a float32 input.
    func floats(_ name: String) throws(ModuleError) -> (values: [Float], shape: [Int]) {
        let tensor = try tensor(name)
        do { return (try tensor.floats(), tensor.shape) } catch { throw ModuleError(.wrongInput, module: module, input: name, error.message) }
    }

    func int64s(_ name: String) throws(ModuleError) -> [Int64] {
        let tensor = try tensor(name)
        do { return try tensor.int64s() } catch { throw ModuleError(.wrongInput, module: module, input: name, error.message) }
    }

    /// The bytes of a media (or uint8) input; empty is `badInput`.
    func bytes(_ name: String) throws(ModuleError) -> [UInt8] {
        let tensor = try tensor(name)
        let bytes: [UInt8]
        do { bytes = try tensor.uint8s() } catch { throw ModuleError(.wrongInput, module: module, input: name, error.message) }
        guard !bytes.isEmpty else { throw ModuleError(.badInput, module: module, input: name, "is empty") }
        return bytes
    }

    /// The strings of a `string` input: one text, or a JSON list.
    func strings(_ name: String) throws(ModuleError) -> [String] {
        _ = try tensor(name)
        do { return try TaskValueText.strings(bundle, name) } catch {
            throw ModuleError(.badInput, module: module, input: name, error.message)
        }
    }
}

/// Builds an invocation's answer; a failure to encode is the module's own fault (`runFailed`).
struct ModuleOutputs {
    let module: String
    var bundle = TensorBundle()

    init(module: String) { self.module = module }

    mutating func set(_ name: String, floats: [Float], shape: [Int]) throws(ModuleError) {
        do { try bundle.set(BundleTensor(floats: floats, shape: shape), named: name) } catch { throw fault(name, error) }
    }

    mutating func set(_ name: String, int64s: [Int64], shape: [Int]) throws(ModuleError) {
        do { try bundle.set(BundleTensor(int64s: int64s, shape: shape), named: name) } catch { throw fault(name, error) }
    }

    mutating func set(_ name: String, tensor: BundleTensor) throws(ModuleError) {
        do { try bundle.set(tensor, named: name) } catch { throw fault(name, error) }
    }

    mutating func set(_ name: String, text: String) throws(ModuleError) {
        do { try bundle.setText(text, named: name) } catch { throw fault(name, error) }
    }

    mutating func set(_ name: String, texts: [String]) throws(ModuleError) {
        do { try bundle.setTexts(texts, named: name) } catch { throw fault(name, error) }
    }

    private func fault(_ name: String, _ error: TensorBundleError) -> ModuleError {
        ModuleError(.runFailed, module: module, "cannot store output '\(name)': \(error.message)")
    }
}
