import Foundation
import PlacementPlanning
import Preprocessing
import S2M3Core

/// The decoders of outside bytes, by name, for libFuzzer (`scripts/fuzz.sh`) and for replaying
/// inputs. Each returns normally for a value or a typed error; anything else (a trap) is a finding.
/// The seeded mutation tests (Tests/FuzzTests) cover the same decoders in every `swift test`.
enum FuzzTarget: String, CaseIterable {
    case requestJSON = "request-json", requestBundle = "request-bundle", requestUnlabelled = "request-unlabelled"
    case tensorBundle = "tensor-bundle", invokeBundle = "invoke-bundle", partialBundle = "partial-bundle"
    case wav, image, mediaHeaders = "media-headers", placementInstance = "placement-instance"
    case controlMessages = "control-messages"

    func run(_ bytes: [UInt8]) {
        switch self {
        case .requestJSON: intake(bytes, MediaType.json)
        case .requestBundle: intake(bytes, TensorBundle.contentType)
        case .requestUnlabelled: intake(bytes, nil)
        case .tensorBundle:
            if let bundle = try? TensorBundle(decoding: bytes) {
                // A decoded bundle encodes to bytes that decode to the same bundle.
                precondition((try? TensorBundle(decoding: bundle.encoded())) == bundle, "bundle round trip differs")
            }
        case .invokeBundle: _ = (try? TensorBundle(decoding: bytes)).map { try? InvokeRequest(bundle: $0) }
        case .partialBundle: _ = (try? TensorBundle(decoding: bytes)).map { try? PartialResult(bundle: $0) }
        case .wav:
            if let signal = try? WAVDecoder.decode(bytes, maxSeconds: 60) {
                precondition(MediaHeader.wavFormat(of: bytes)?.sampleRate == signal.sampleRate, "WAV header check disagrees with the decoder")
            }
        case .image:
            if let image = try? ImageDecoder.decode(bytes, maxPixels: 1 << 20) {
                let size = MediaHeader.imageSize(of: bytes)
                precondition(size?.width == image.width && size?.height == image.height, "image header check disagrees with the decoder")
            }
        case .mediaHeaders:
            _ = MediaHeader.imageSize(of: bytes)
            _ = MediaHeader.wavFormat(of: bytes)
        case .placementInstance:
            if let instance = try? PlacementInstance(json: Data(bytes)) {
                precondition((try? PlacementInstance(json: instance.jsonData())) == instance, "instance round trip differs")
            }
        case .controlMessages:
            control(DeviceState.self, bytes)
            control(DeviceCapabilities.self, bytes)
            control(DeviceTelemetry.self, bytes)
            control(DeviceAssignment.self, bytes)
            control(PlanMessage.self, bytes)
            control(TaskRequest.self, bytes)
            control(TaskResult.self, bytes)
            control(TaskErrorMessage.self, bytes)
        }
    }

    private func intake(_ bytes: [UInt8], _ contentType: String?) {
        _ = try? TaskRequest(payload: bytes, properties: MessageProperties(contentType: contentType), topicTask: "classify-image")
    }

    private func control<Message: ControlMessage>(_ type: Message.Type, _ bytes: [UInt8]) {
        guard let message = try? Message(json: bytes) else { return }
        precondition((try? Message(json: message.jsonBytes())) == message, "\(Message.schema) round trip differs")
    }

    /// The target named by `S2M3_FUZZ_TARGET`.
    static var selected: FuzzTarget {
        let name = ProcessInfo.processInfo.environment["S2M3_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("set S2M3_FUZZ_TARGET to one of: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }
}
