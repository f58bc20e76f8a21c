import ArgumentParser
import Catalog
import Foundation
import S2M3Core

/// The task inputs of a command line: `--image F`, `--audio F`, `--text S` (repeatable), shared by
/// `s2m3 run` and `s2m3 request`.
///
/// ``inputs(for:optional:)`` maps them onto a task's declared input names: a file goes to the input
/// of its kind (`image`, `audio`; the media type is read from the file's first bytes, not its name);
/// one `--text` fills an input named `text`; the `--text` values together fill a list input (any
/// other declared name, e.g. `texts` or `commands`) as a JSON list of strings; `--tensor name=FILE`
/// fills input `name` with a tensor from a `.npy` or `.safetensors` file, checked against the dtype and
/// shape the task's first module declares for it.
struct TaskInputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An image file (JPEG or PNG).", valueName: "file"))
    var image: String?

    @Option(help: ArgumentHelp("An audio file (WAV).", valueName: "file"))
    var audio: String?

    @Option(
        help: ArgumentHelp(
            "Text: once for a task's `text` input, or repeated for a list input such as `texts` or `commands`.",
            valueName: "text"))
    var text: [String] = []

    @Option(
        help: ArgumentHelp(
            "A tensor input: name=FILE, FILE a .npy (float32, float16, int64, int32, uint8, bool; C order) or a .safetensors file.",
            valueName: "name=file"))
    var tensor: [String] = []

    init() {}

    /// Largest tensor file read, bytes (the aggregator's default request limit).
    static let maxTensorFileBytes = LimitsConfiguration().maxPayloadBytes

    /// The `--tensor` values, read and checked against `declared` (a task input → the module input
    /// it binds to).
    func tensors(declared: [String: TensorDeclaration], task: String) throws -> [String: TaskInput] {
        var out: [String: TaskInput] = [:]
        for option in tensor {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                throw ValidationError("--tensor \(option): give name=FILE")
            }
            let name = String(option[..<equals]), path = String(option[option.index(after: equals)...])
            guard let declaration = declared[name] else {
                throw ValidationError("--tensor \(name): task '\(task)' has no input '\(name)' (inputs: \(declared.keys.sorted().joined(separator: ", ")))")
            }
            let value = try Self.readTensor(name: name, path: path)
            try Self.check(value, against: declaration, name: name)
            out[name] = .tensor(value)
        }
        return out
    }

    static func readTensor(name: String, path: String) throws -> BundleTensor {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int
        guard let size else { throw ValidationError("--tensor \(name)=\(path): cannot read the file") }
        guard size <= maxTensorFileBytes else {
            throw ValidationError("--tensor \(name)=\(path): \(size) bytes, over the \(maxTensorFileBytes)-byte request limit")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--tensor \(name)=\(path): cannot read the file") }
        if path.hasSuffix(".npy") {
            do { return try NPYFile.tensor([UInt8](data)) } catch { throw ValidationError("--tensor \(name)=\(path): \(error)") }
        }
        guard path.hasSuffix(".safetensors") else { throw ValidationError("--tensor \(name)=\(path): give a .npy or .safetensors file") }
        let bundle: TensorBundle
        do { bundle = try TensorBundle(decoding: data) } catch { throw ValidationError("--tensor \(name)=\(path): \(error)") }
        guard let value = bundle[name] ?? (bundle.tensors.count == 1 ? bundle.tensors.values.first : nil) else {
            throw ValidationError("--tensor \(name)=\(path): the file holds \(bundle.tensors.keys.sorted()); name one '\(name)' or keep one tensor")
        }
        return value
    }

    /// The tensor's dtype and shape against the declaration: same dtype, same rank, equal fixed sizes.
    static func check(_ value: BundleTensor, against declaration: TensorDeclaration, name: String) throws {
        let dtypes: [String: TensorDType] = ["float32": .f32, "float16": .f16, "int64": .i64, "int32": .i32, "uint8": .u8, "bool": .bool]
        guard dtypes[declaration.dtype] == value.dtype else {
            throw ValidationError("--tensor \(name): is \(value.dtype.rawValue), the task's input is \(declaration.dtype)")
        }
        let fits = value.shape.count == declaration.shape.count
            && zip(value.shape, declaration.shape).allSatisfy { if case .fixed(let size) = $1 { $0 == size } else { true } }
        guard fits else {
            throw ValidationError("--tensor \(name): has shape \(value.shape), the task's input is [\(declaration.shape.map(\.description).joined(separator: ","))]")
        }
    }

    /// Declared input names that take files (by media kind).
    static let imageInput = "image"
    static let audioInput = "audio"
    static let textInput = "text"

    /// The request inputs for a task declaring `declared` inputs. Inputs in `optional` (the task's
    /// catalog defaults) may be left out; any other missing input, or an option the task does not
    /// take, is a `ValidationError` saying which option to give.
    func inputs(
        for declared: [String], optional: Set<String> = [], tensors: [String: TensorDeclaration] = [:], task: String
    ) throws -> [String: TaskInput] {
        var inputs = try self.tensors(declared: tensors, task: task)
        var used = (image: false, audio: false, text: false)
        let listInputs = declared.filter { ![Self.imageInput, Self.audioInput, Self.textInput].contains($0) && inputs[$0] == nil }
        for name in declared where inputs[name] == nil {
            switch name {
            case Self.imageInput:
                guard let image else { continue }
                inputs[name] = try Self.media(at: image, option: "--image", expected: [MediaType.jpeg, MediaType.png])
                used.image = true
            case Self.audioInput:
                guard let audio else { continue }
                inputs[name] = try Self.media(at: audio, option: "--audio", expected: [MediaType.wav])
                used.audio = true
            case Self.textInput:
                guard !text.isEmpty else { continue }
                guard text.count == 1 else {
                    throw ValidationError("task '\(task)' takes one --text (input 'text'); \(text.count) were given")
                }
                inputs[name] = .text(text[0])
                used.text = true
            default:
                guard !text.isEmpty else { continue }
                guard listInputs.count == 1 else {
                    throw ValidationError(
                        "task '\(task)' has several list inputs (\(listInputs.joined(separator: ", "))); --text cannot tell them apart")
                }
                inputs[name] = .texts(text)
                used.text = true
            }
        }
        if image != nil, !used.image { throw ValidationError("task '\(task)' takes no image (inputs: \(declared.joined(separator: ", ")))") }
        if audio != nil, !used.audio { throw ValidationError("task '\(task)' takes no audio (inputs: \(declared.joined(separator: ", ")))") }
        if !text.isEmpty, !used.text { throw ValidationError("task '\(task)' takes no text (inputs: \(declared.joined(separator: ", ")))") }
        for name in declared where inputs[name] == nil && !optional.contains(name) {
            throw ValidationError("task '\(task)' needs input '\(name)': give \(Self.option(for: name))")
        }
        return inputs
    }

    /// The option that fills a declared input.
    static func option(for input: String) -> String {
        switch input {
        case imageInput: "--image FILE"
        case audioInput: "--audio FILE"
        case textInput: "--text TEXT"
        default: "--text TEXT, repeated once per item of '\(input)'"
        }
    }

    /// A file's bytes with its media type read from its content.
    static func media(at path: String, option: String, expected: [String]) throws -> TaskInput {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(option) \(path): cannot read the file")
        }
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else { throw ValidationError("\(option) \(path): the file is empty") }
        guard let type = MediaType.sniff(bytes) else {
            throw ValidationError("\(option) \(path): not a \(expected.joined(separator: " or ")) file (unrecognised content)")
        }
        guard expected.contains(type) else {
            throw ValidationError("\(option) \(path): is \(type), expected \(expected.joined(separator: " or "))")
        }
        return .media(contentType: type, bytes: bytes)
    }
}
