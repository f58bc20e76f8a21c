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
        var writer = JSONWriter(capacity: 256 + 64 * tensors.count)
        writer.beginObject()
        if !metadata.isEmpty {
            writer.key("__metadata__")
            writer.beginObject()
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { writer.member(key, value) }
            writer.endObject()
        }
        var offset = 0
        for (name, tensor) in order {
            let end = offset + tensor.bytes.count
            writer.key(name)
            writer.beginObject()
            writer.member("dtype", tensor.dtype.rawValue)
            writer.key("shape")
            writer.beginArray()
            for dimension in tensor.shape { writer.number(dimension) }
            writer.endArray()
            writer.key("data_offsets")
            writer.beginArray()
            writer.number(offset)
            writer.number(end)
            writer.endArray()
            writer.endObject()
            offset = end
        }
        writer.endObject()
        var header = writer.bytes
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
