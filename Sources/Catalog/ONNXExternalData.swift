import Foundation

/// The external data files an ONNX model names: the `location` of each initializer stored outside
/// the model (`TensorProto.data_location = EXTERNAL`), relative to the model's folder. ONNX Runtime
/// reads them from there when it loads the model, so they are part of the module.
///
/// A minimal protobuf walk of `ModelProto.graph.initializer[].external_data[]` over a read-only
/// mapping of the file (large `raw_data` fields are skipped, not read). Initializers of subgraphs and
/// `Constant` nodes are not searched.
public enum ONNXExternalData {
    /// The distinct locations, sorted; nil when the file cannot be read or is not a protobuf model.
    public static func locations(inModelAt path: String) -> [String]? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
        return data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> [String]? in
            var found: Set<String> = []
            let model = buffer.bindMemory(to: UInt8.self)
            guard let graph = fields(model[...], number: 7) else { return nil }
            for bytes in graph {
                guard let initializers = fields(bytes, number: 5) else { return nil }
                for tensor in initializers {
                    guard let entries = fields(tensor, number: 13) else { return nil }
                    for entry in entries {
                        guard let keys = fields(entry, number: 1), let values = fields(entry, number: 2) else { return nil }
                        if keys.first.map({ String(decoding: $0, as: UTF8.self) }) == "location", let value = values.first {
                            found.insert(String(decoding: value, as: UTF8.self))
                        }
                    }
                }
            }
            return found.sorted()
        }
    }

    /// The payloads of the length-delimited fields numbered `number` in one protobuf message; nil
    /// when the message is malformed.
    static func fields(_ message: Slice<UnsafeBufferPointer<UInt8>>, number: UInt64) -> [Slice<UnsafeBufferPointer<UInt8>>]? {
        var index = message.startIndex
        var out: [Slice<UnsafeBufferPointer<UInt8>>] = []
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < message.endIndex, shift < 64 {
                let byte = message[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        while index < message.endIndex {
            guard let key = varint() else { return nil }
            switch key & 7 {
            case 0: guard varint() != nil else { return nil }
            case 1: index += 8
            case 5: index += 4
            case 2:
                guard let length = varint(), length <= UInt64(message.endIndex - index) else { return nil }
                let end = index + Int(length)
                if key >> 3 == number { out.append(message[index..<end]) }
                index = end
            default: return nil
            }
            if index > message.endIndex { return nil }
        }
        return out
    }
}
