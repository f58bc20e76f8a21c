import Foundation

extension TensorBundle {
    /// Reads a bundle in the safetensors layout, validating it strictly: the header length must fit
    /// the payload and `maxHeaderBytes`; the header must be a JSON object of tensor entries (and an
    /// optional `__metadata__` of strings); every dtype must be supported; every tensor's byte count
    /// must equal its shape × dtype size; and the tensors must cover the data section exactly, with
    /// no overlap, gap or trailing byte. The tensors share `payload`'s storage.
    public init(decoding payload: [UInt8], maxHeaderBytes: Int = TensorBundle.defaultMaxHeaderBytes) throws(TensorBundleError) {
        guard payload.count >= 8 else {
            throw TensorBundleError(.truncated, "payload has \(payload.count) bytes; a bundle starts with an 8-byte header length")
        }
        let declared = payload.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= UInt64(maxHeaderBytes) else {
            throw TensorBundleError(.headerTooLarge, "header declares \(declared) bytes, over the limit of \(maxHeaderBytes)")
        }
        let headerLength = Int(declared)
        guard headerLength <= payload.count - 8 else {
            throw TensorBundleError(
                .headerLengthBeyondPayload,
                "header declares \(headerLength) bytes but only \(payload.count - 8) follow the length; is the payload truncated or not a bundle?")
        }
        let header = try BundleHeader.parse(payload, 8..<(8 + headerLength))
        let dataStart = 8 + headerLength
        let dataCount = payload.count - dataStart

        var placed: [(name: String, begin: Int, end: Int)] = []
        var tensors: [String: BundleTensor] = [:]
        for (name, entry) in header.entries {
            guard let dtype = TensorDType(rawValue: entry.dtype) else {
                throw TensorBundleError(
                    .unsupportedDType, "tensor '\(name)' has dtype '\(entry.dtype)'; supported: \(TensorDType.supportedList)")
            }
            guard entry.offsets.count == 2 else {
                throw TensorBundleError(.invalidTensorEntry, "tensor '\(name)': data_offsets must hold two numbers, has \(entry.offsets.count)")
            }
            let (begin, end) = (entry.offsets[0], entry.offsets[1])
            guard begin >= 0, begin <= end, end <= dataCount else {
                throw TensorBundleError(
                    .offsetsOutOfBounds, "tensor '\(name)': data_offsets [\(begin), \(end)] are not within the \(dataCount)-byte data section")
            }
            do {
                tensors[name] = try BundleTensor(
                    dtype: dtype, shape: entry.shape, bytes: payload[(dataStart + begin)..<(dataStart + end)])
            } catch {
                throw TensorBundleError(error.code, "tensor '\(name)': \(error.message)")
            }
            placed.append((name, begin, end))
        }
        try Self.checkCoverage(placed, dataCount: dataCount)
        self.tensors = tensors
        self.metadata = header.metadata
    }

    /// Reads a bundle from `Data` (copied once into an array).
    public init(decoding payload: Data, maxHeaderBytes: Int = TensorBundle.defaultMaxHeaderBytes) throws(TensorBundleError) {
        try self.init(decoding: [UInt8](payload), maxHeaderBytes: maxHeaderBytes)
    }

    /// The tensors, sorted by offset, must tile `0..<dataCount` exactly.
    private static func checkCoverage(_ placed: [(name: String, begin: Int, end: Int)], dataCount: Int) throws(TensorBundleError) {
        var cursor = 0
        var previous = "the start of the data"
        for item in placed.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
            if item.begin < cursor {
                throw TensorBundleError(.offsetsOverlap, "tensor '\(item.name)' starts at byte \(item.begin), inside \(previous) (ends at \(cursor))")
            }
            if item.begin > cursor {
                throw TensorBundleError(.unusedBytes, "bytes \(cursor)..<\(item.begin) after \(previous) belong to no tensor")
            }
            cursor = item.end
            previous = "tensor '\(item.name)'"
        }
        if cursor != dataCount {
            throw TensorBundleError(.unusedBytes, "\(dataCount - cursor) trailing bytes after \(previous) belong to no tensor")
        }
    }
}
