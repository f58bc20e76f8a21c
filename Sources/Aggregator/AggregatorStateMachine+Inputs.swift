import Catalog
import S2M3Core

/// An input present in a request but of the wrong kind or unusable, found before any device is
/// asked (the aggregator answers with `code`).
struct RequestInputError: Error, Sendable {
    var code: TaskErrorCode
    var field: String
    var reason: String
}

extension AggregatorStateMachine {
    /// Checks each declared input against what the module reading it takes: text for `string`
    /// parameters, a JPEG/PNG/WAV file (or a `U8` tensor) for `uint8` ones, a tensor otherwise; and
    /// that media bytes are what their content type says (a corrupt or mislabelled file is
    /// `bad-input`, found here rather than on a device).
    static func checkKinds(_ request: TaskRequest, binding: TaskBinding) throws {
        for input in binding.task.graph.inputs {
            guard let value = request.inputs[input.id], let parameter = parameter(reading: input.id, in: binding) else { continue }
            let field = "inputs.\(input.id)"
            switch (parameter.dtype, value) {
            case ("string", .text), ("string", .texts):
                continue
            case ("uint8", .media(let contentType, let bytes)):
                let declared = MediaType.normalize(contentType)
                let actual = MediaType.sniff(bytes)
                guard actual == declared else {
                    let head = bytes.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
                    throw RequestInputError(
                        code: .badInput, field: field,
                        reason: "input '\(input.id)' is declared \(declared) but its \(bytes.count) bytes are \(actual.map { "a \($0) file" } ?? "not one (they start \(head))"); check the file")
                }
            case ("uint8", .tensor(let tensor)) where tensor.dtype == .u8:
                continue
            case ("string", _), ("uint8", _):
                throw RequestInputError(
                    code: .missingInput, field: field,
                    reason: "input '\(input.id)' must be \(parameter.dtype == "string" ? "text (a string or a list of strings)" : "a JPEG, PNG or WAV file") for module '\(parameter.module)'")
            case (_, .tensor):
                continue
            default:
                throw RequestInputError(
                    code: .missingInput, field: field,
                    reason: "input '\(input.id)' must be a \(parameter.dtype) tensor for module '\(parameter.module)'")
            }
        }
    }

    /// Checks the request against the configured limits before anything is decoded or sent:
    /// the number of inputs, text sizes, and what image and WAV headers say (pixels, sample rate,
    /// channels, seconds). Each exceeded limit is named in the error.
    static func checkLimits(_ request: TaskRequest, limits: LimitsConfiguration) throws(RequestInputError) {
        guard request.inputs.count <= limits.maxInputs else {
            throw RequestInputError(
                code: .malformedRequest, field: "inputs",
                reason: "the request has \(request.inputs.count) inputs; the limit is \(limits.maxInputs) (maxInputs)")
        }
        for (name, input) in request.inputs.sorted(by: { $0.key < $1.key }) {
            let field = "inputs.\(name)"
            func refuse(_ reason: String) -> RequestInputError { RequestInputError(code: .badInput, field: field, reason: "input '\(name)' \(reason)") }
            switch input {
            case .text(let text):
                guard text.utf8.count <= limits.maxTextBytes else {
                    throw refuse("has \(text.utf8.count) bytes of text; the limit is \(limits.maxTextBytes) (maxTextBytes)")
                }
            case .texts(let texts):
                guard texts.count <= limits.maxTexts else {
                    throw refuse("has \(texts.count) texts; the limit is \(limits.maxTexts) (maxTexts)")
                }
                if let index = texts.firstIndex(where: { $0.utf8.count > limits.maxTextBytes }) {
                    throw refuse("text \(index) has \(texts[index].utf8.count) bytes; the limit is \(limits.maxTextBytes) (maxTextBytes)")
                }
            case .media(let contentType, let bytes):
                switch MediaType.normalize(contentType) {
                case MediaType.jpeg, MediaType.png:
                    guard let size = MediaHeader.imageSize(of: bytes) else { continue }  // the decoder says why
                    let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
                    guard !overflow, pixels <= limits.maxImagePixels else {
                        throw refuse("is a \(size.width)x\(size.height) image; the limit is \(limits.maxImagePixels) pixels (maxImagePixels); send a smaller image")
                    }
                case MediaType.wav:
                    guard let format = MediaHeader.wavFormat(of: bytes) else { continue }
                    guard MediaHeader.wavSampleRates.contains(format.sampleRate) else {
                        throw refuse("is a WAV file whose header says \(format.sampleRate) Hz; \(MediaHeader.wavSampleRates.lowerBound)–\(MediaHeader.wavSampleRates.upperBound) Hz are accepted")
                    }
                    guard MediaHeader.wavChannels.contains(format.channels) else {
                        throw refuse("is a WAV file whose header says \(format.channels) channels; \(MediaHeader.wavChannels.lowerBound)–\(MediaHeader.wavChannels.upperBound) are accepted")
                    }
                    guard format.seconds <= limits.maxAudioSeconds else {
                        throw refuse("holds \(Int(format.seconds.rounded(.up))) s of audio; the limit is \(Int(limits.maxAudioSeconds)) s (maxAudioSeconds)")
                    }
                default:
                    continue
                }
            case .tensor:
                continue
            }
        }
    }

    /// The parameter (dtype and module) that first reads task input `input`, bound by position.
    private static func parameter(reading input: String, in binding: TaskBinding) -> (dtype: String, module: String)? {
        for node in binding.nodes {
            var position = 0
            for source in node.inputs {
                if source == input {
                    let parameters = binding.module(of: node).callInputs
                    return position < parameters.count ? (parameters[position].dtype, node.module) : nil
                }
                position += binding.node(source).map { binding.module(of: $0).callOutputs.count } ?? 1
            }
        }
        return nil
    }
}
