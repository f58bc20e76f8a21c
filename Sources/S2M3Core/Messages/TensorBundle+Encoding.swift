import Foundation

extension TensorBundle {
    /// The bundle in the safetensors layout.
    ///
    /// Tensors are laid out by element size (largest first), then by name, so equal bundles give
    /// equal bytes and every tensor starts at a multiple of its element size. The header is padded
    /// with spaces so the data section starts at a multiple of 8, as the safetensors writer does.
    public func encoded() -> [UInt8] {
        let order = tensors.sorted { left, right in
            left.value.dtype.byteSize != right.value.dtype.byteSize
                ? left.value.dtype.byteSize > right.value.dtype.byteSize
                : left.key < right.key
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }
                .map { "\(JSONText.quoted($0.key)):\(JSONText.quoted($0.value))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in order {
            let end = offset + tensor.bytes.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(
                "\(JSONText.quoted(name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        let padding = (8 - (8 + header.count) % 8) % 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))

        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for (_, tensor) in order { out.append(contentsOf: tensor.bytes) }
        return out
    }

    /// ``encoded()`` as `Data`.
    public func encodedData() -> Data { Data(encoded()) }
}
