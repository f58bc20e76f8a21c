import Foundation
import PlacementPlanning
import Preprocessing
import S2M3Core

@testable import Aggregator

/// Every decoder that reads bytes from outside a process: request intake (by content type, and
/// sniffed), the tensor bundle and the bundles built on it, the WAV/JPEG/PNG decoders and the
/// aggregator's header checks, the placement instance, and each JSON control message.
enum FuzzTargets {
    static let limits = LimitsConfiguration()

    static let all: [FuzzHarness] = [
        intake("request-json", contentType: MediaType.json) { try FuzzSeeds.topicsExamples(schema: TaskRequest.schema) },
        intake("request-bundle", contentType: TensorBundle.contentType) { try FuzzSeeds.bundles() },
        intake("request-text", contentType: MediaType.text) { [Array("open the gate".utf8), Array("héllo wörld ✓".utf8)] },
        intake("request-unlabelled", contentType: nil) {
            try FuzzSeeds.jpegs() + FuzzSeeds.pngs() + FuzzSeeds.wavs() + FuzzSeeds.bundles().prefix(1)
                + FuzzSeeds.topicsExamples(schema: TaskRequest.schema)
        },
        FuzzHarness(name: "tensor-bundle", seeds: { try FuzzSeeds.bundles() }) { bytes in
            let bundle: TensorBundle
            do throws(TensorBundleError) { bundle = try TensorBundle(decoding: bytes) } catch { return .error(code: error.code.description, message: error.message) }
            let again = try TensorBundle(decoding: bundle.encoded())
            return again == bundle ? .value : .error(code: "round-trip-differs", message: "")
        },
        FuzzHarness(name: "bundle-header-json", seeds: { try FuzzSeeds.bundles() }, decode: headerAgreesWithFoundation),
        bundleMessage("invoke-bundle") { bundle throws(MessageError) in _ = try InvokeRequest(bundle: bundle) },
        bundleMessage("partial-bundle") { bundle throws(MessageError) in _ = try PartialResult(bundle: bundle) },
        FuzzHarness(name: "wav-decoder", seeds: { try FuzzSeeds.wavs() }) { bytes in
            let signal: AudioSignal
            do throws(PreprocessingError) { signal = try WAVDecoder.decode(bytes, maxSeconds: 60) } catch { return .error(code: error.code.description, message: error.message) }
            // What the aggregator's header check reads must be what the decoder decoded.
            guard let header = MediaHeader.wavFormat(of: bytes), header.sampleRate == signal.sampleRate else {
                return .error(code: "header-disagrees", message: "decoder \(signal.sampleRate) Hz, header \(String(describing: MediaHeader.wavFormat(of: bytes)))")
            }
            return .value
        },
        image("jpeg-decoder") { try FuzzSeeds.jpegs() },
        image("png-decoder") { try FuzzSeeds.pngs() },
        FuzzHarness(name: "media-headers", seeds: { try FuzzSeeds.jpegs() + FuzzSeeds.pngs() + FuzzSeeds.wavs() }) { bytes in
            let size = MediaHeader.imageSize(of: bytes)
            let wav = MediaHeader.wavFormat(of: bytes)
            if let size, size.width < 0 || size.height < 0 { return .error(code: "negative-size", message: "\(size)") }
            if let wav, wav.frames < 0 || wav.seconds < 0 || !wav.seconds.isFinite { return .error(code: "bad-duration", message: "\(wav)") }
            return size == nil && wav == nil ? .error(code: "unreadable", message: "") : .value
        },
        FuzzHarness(name: "placement-instance", seeds: {
            [try FuzzSeeds.repositoryFile("examples/placement/example.json"), try FuzzSeeds.repositoryFile("examples/placement/paper-scale.json")]
        }) { bytes in
            let instance: PlacementInstance
            do throws(PlacementError) { instance = try PlacementInstance(json: Data(bytes)) } catch { return .error(code: error.code.description, message: error.message) }
            let again = try PlacementInstance(json: instance.jsonData())
            return again == instance ? .value : .error(code: "round-trip-differs", message: "")
        },
        control(DeviceState.self, "device-state"),
        control(DeviceCapabilities.self, "device-capabilities"),
        control(DeviceTelemetry.self, "device-telemetry"),
        control(DeviceAssignment.self, "device-assignment"),
        control(PlanMessage.self, "plan"),
        control(TaskRequest.self, "task-request"),
        control(TaskResult.self, "task-result"),
        control(TaskErrorMessage.self, "task-error"),
    ]

    /// The bundle header reader against Foundation's JSON parser on the same header bytes: what the
    /// reader takes must be JSON with the same metadata and entries, and what it refuses as not
    /// JSON must be refused by Foundation too (the reader's own limits, nesting and lone
    /// surrogates, aside).
    @Sendable static func headerAgreesWithFoundation(_ bytes: [UInt8]) throws -> FuzzOutcome {
        guard bytes.count >= 8 else { return .error(code: "truncated", message: "short") }
        let length = bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(bytes.count - 8) else { return .error(code: "beyond", message: "length") }
        let header = Data(bytes[8..<(8 + Int(length))])
        let foundation = try? JSONSerialization.jsonObject(with: header) as? [String: Any]
        let bundle: TensorBundle
        do throws(TensorBundleError) {
            bundle = try TensorBundle(decoding: bytes)
        } catch {
            if error.code == .headerNotJSON, foundation != nil, !error.message.contains("nesting"), !error.message.contains("surrogate") {
                return .error(code: "json-disagrees", message: "Foundation reads the header the reader refused: \(error.message)")
            }
            return .error(code: error.code.description, message: error.message)
        }
        guard let foundation else { return .error(code: "json-disagrees", message: "the reader took a header Foundation refuses") }
        let metadata = foundation["__metadata__"] as? [String: String] ?? [:]
        guard metadata == bundle.metadata, Set(foundation.keys.filter { $0 != "__metadata__" }) == Set(bundle.names) else {
            return .error(code: "json-disagrees", message: "names or metadata differ")
        }
        for name in bundle.names {
            let entry = foundation[name] as? [String: Any]
            guard let tensor = bundle[name], entry?["dtype"] as? String == tensor.dtype.rawValue,
                  (entry?["shape"] as? [NSNumber])?.map(\.intValue) == tensor.shape else {
                return .error(code: "json-disagrees", message: "tensor '\(name)' differs")
            }
        }
        return .value
    }

    /// A request as the aggregator takes it: decoded by content type, then checked against the limits.
    static func intake(_ name: String, contentType: String?, seeds: @escaping @Sendable () throws -> [[UInt8]]) -> FuzzHarness {
        FuzzHarness(name: name, seeds: seeds) { bytes in
            let request: TaskRequest
            do throws(MessageError) {
                request = try TaskRequest(payload: bytes, properties: MessageProperties(contentType: contentType), topicTask: "classify-image")
            } catch {
                return .error(code: error.code.description, message: error.message)
            }
            do throws(RequestInputError) {
                try AggregatorStateMachine.checkLimits(request, limits: limits)
            } catch {
                return .error(code: error.code.rawValue, message: error.reason)
            }
            return .value
        }
    }

    static func bundleMessage(_ name: String, read: @escaping @Sendable (TensorBundle) throws(MessageError) -> Void) -> FuzzHarness {
        FuzzHarness(name: name, seeds: { try FuzzSeeds.bundles() }) { bytes in
            do {
                try read(try TensorBundle(decoding: bytes))
            } catch let error as MessageError {
                return .error(code: error.code.description, message: error.message)
            } catch let error as TensorBundleError {
                return .error(code: error.code.description, message: error.message)
            }
            return .value
        }
    }

    static func image(_ name: String, seeds: @escaping @Sendable () throws -> [[UInt8]]) -> FuzzHarness {
        FuzzHarness(name: name, seeds: seeds) { bytes in
            let image: RGBImage
            do throws(PreprocessingError) { image = try ImageDecoder.decode(bytes, maxPixels: 1 << 20) } catch { return .error(code: error.code.description, message: error.message) }
            // The aggregator's header check must read the size the decoder decoded.
            guard let size = MediaHeader.imageSize(of: bytes), size.width == image.width, size.height == image.height else {
                return .error(code: "header-disagrees", message: "decoded \(image.width)x\(image.height), header \(String(describing: MediaHeader.imageSize(of: bytes)))")
            }
            return .value
        }
    }

    /// A JSON control message: decoded, and when valid, encoded and read back equal.
    static func control<Message: ControlMessage>(_ type: Message.Type, _ name: String) -> FuzzHarness {
        FuzzHarness(name: name, seeds: { try FuzzSeeds.topicsExamples(schema: Message.schema) }) { bytes in
            let message: Message
            do throws(MessageError) { message = try Message(json: bytes) } catch { return .error(code: error.code.description, message: error.message) }
            let again = try Message(json: try message.jsonBytes())
            return again == message ? .value : .error(code: "round-trip-differs", message: "")
        }
    }
}
