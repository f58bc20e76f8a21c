/// The bytes of a one-operator ONNX model, `C = MatMul(A, B)` with `A`, `B`, `C` float32 `[n, n]`,
/// written directly in protobuf wire format (ONNX IR 7, opset 13) so the calibration benchmark
/// needs no model file from anywhere.
public enum MatMulModel {
    public static func bytes(size n: Int) -> [UInt8] {
        func tensorValue(_ name: String) -> [UInt8] {
            let dimension = Proto.varintField(1, UInt64(n))                        // Dimension.dim_value
            let shape = Proto.bytesField(1, dimension) + Proto.bytesField(1, dimension)  // TensorShapeProto.dim ×2
            let tensorType = Proto.varintField(1, 1) + Proto.bytesField(2, shape)  // elem_type FLOAT, shape
            let type = Proto.bytesField(1, tensorType)                             // TypeProto.tensor_type
            return Proto.stringField(1, name) + Proto.bytesField(2, type)          // ValueInfoProto
        }
        let node = Proto.stringField(1, "A") + Proto.stringField(1, "B") + Proto.stringField(2, "C")
            + Proto.stringField(3, "matmul") + Proto.stringField(4, "MatMul")
        let graph = Proto.bytesField(1, node) + Proto.stringField(2, "s2m3-calibration")
            + Proto.bytesField(11, tensorValue("A")) + Proto.bytesField(11, tensorValue("B"))
            + Proto.bytesField(12, tensorValue("C"))
        let opset = Proto.stringField(1, "") + Proto.varintField(2, 13)
        return Proto.varintField(1, 7) + Proto.stringField(2, "s2m3") + Proto.bytesField(7, graph)
            + Proto.bytesField(8, opset)
    }
}

/// The few protobuf wire-format encoders the model above needs.
enum Proto {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        repeat {
            let byte = UInt8(value & 0x7F)
            value >>= 7
            out.append(value == 0 ? byte : byte | 0x80)
        } while value != 0
        return out
    }

    static func varintField(_ number: UInt64, _ value: UInt64) -> [UInt8] { varint(number << 3) + varint(value) }

    static func bytesField(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func stringField(_ number: UInt64, _ text: String) -> [UInt8] { bytesField(number, Array(text.utf8)) }
}
