import Testing
import Inference

@Suite("Tensor values and bytes")
struct TensorTests {
    @Test func littleEndianBytesRoundTrip() throws {
        let tensors = [
            try Tensor(float32: [1.5, -0.0, .infinity, 3e-38], shape: [2, 2]),
            try Tensor(int64: [Int64.min, -1, 0, 1 << 50], shape: [4]),
            try Tensor(int32: [Int32.min, 7], shape: [1, 2]),
            try Tensor(uint8: [0, 255, 9], shape: [3]),
            try Tensor(bool: [true, false], shape: [2, 1]),
        ]
        for tensor in tensors {
            let bytes = tensor.littleEndianBytes
            #expect(bytes.count == tensor.count * tensor.elementType.byteWidth!)
            let back = try Tensor(elementType: tensor.elementType, shape: tensor.shape, littleEndianBytes: bytes)
            #expect(back == tensor)
        }
        #expect(try Tensor(int32: [1], shape: [1]).littleEndianBytes == [1, 0, 0, 0])
        #expect(try Tensor(float32: [1, -2], shape: [2]).littleEndianBytes == [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0])
        #expect(try Tensor(int64: [-2], shape: [1]).littleEndianBytes == [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try Tensor(elementType: .float32, shape: [1], littleEndianBytes: [0, 0, 0x80, 0xBF]) == Tensor(float32: [-1], shape: [1]))
    }

    @Test func bytesThatDoNotFit() {
        #expect(throws: InferenceError.self) { try Tensor(elementType: .float32, shape: [1], littleEndianBytes: [1, 2, 3]) }
        #expect(throws: InferenceError.self) { try Tensor(elementType: .string, shape: [1], littleEndianBytes: [1]) }
        #expect(throws: InferenceError.self) { try Tensor(elementType: .int64, shape: [2], littleEndianBytes: [UInt8](repeating: 0, count: 8)) }
    }

    @Test func specAcceptsDynamicDimensions() {
        let spec = TensorSpec(name: "x", elementType: .float32, shape: [nil, 3], dimensionNames: ["batch", ""])
        #expect(spec.accepts(shape: [7, 3]))
        #expect(!spec.accepts(shape: [7, 4]))
        #expect(!spec.accepts(shape: [3]))
        #expect(spec.description == "x: float32[batch, 3]")
    }
}
