import Foundation

/// One named input of a task request. In JSON:
/// - a string is `text`; an array of strings is `texts` (e.g. candidate captions);
/// - `{"contentType": "image/jpeg", "data": "<base64>"}` is `media` (JPEG, PNG or WAV);
/// - `{"dtype": "F32", "shape": [1, 384], "data": "<base64 of little-endian bytes>"}` is `tensor`.
public enum TaskInput: Codable, Sendable, Hashable {
    case text(String)
    case texts([String])
    case media(contentType: String, bytes: [UInt8])
    case tensor(BundleTensor)

    private enum CodingKeys: String, CodingKey {
        case contentType, data, dtype, shape
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if let text = try? single.decode(String.self) {
                self = .text(text)
                return
            }
            if let texts = try? single.decode([String].self) {
                self = .texts(texts)
                return
            }
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let encoded = try container.decode(String.self, forKey: .data)
        guard let data = Data(base64Encoded: encoded) else {
            throw DecodingError.dataCorruptedError(forKey: .data, in: container, debugDescription: "is not valid base64")
        }
        if container.contains(.dtype) {
            let dtype = try container.decode(TensorDType.self, forKey: .dtype)
            let shape = try container.decode([Int].self, forKey: .shape)
            do {
                self = .tensor(try BundleTensor(dtype: dtype, shape: shape, bytes: [UInt8](data)))
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .data, in: container, debugDescription: error.message)
            }
        } else {
            self = .media(contentType: try container.decode(String.self, forKey: .contentType), bytes: [UInt8](data))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .texts(let texts):
            var container = encoder.singleValueContainer()
            try container.encode(texts)
        case .media(let contentType, let bytes):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(contentType, forKey: .contentType)
            try container.encode(Data(bytes).base64EncodedString(), forKey: .data)
        case .tensor(let tensor):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tensor.dtype, forKey: .dtype)
            try container.encode(tensor.shape, forKey: .shape)
            try container.encode(Data(tensor.bytes).base64EncodedString(), forKey: .data)
        }
    }

    func validate(_ field: String) throws(MessageError) {
        if case .media(let contentType, let bytes) = self {
            guard MediaType.supportedMedia.contains(MediaType.normalize(contentType)) else {
                throw MessageError(
                    .unsupportedContentType, field: "\(field).contentType",
                    "'\(contentType)' is not supported; use one of \(MediaType.supportedMedia.sorted().joined(separator: ", "))")
            }
            guard !bytes.isEmpty else { throw MessageError(.invalidField, field: "\(field).data", "is empty") }
        }
    }
}
