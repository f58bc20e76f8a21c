import Foundation
import TestSupport
import Testing

@testable import S2M3Core

/// Interoperability of ``TensorBundle`` with Python's `safetensors`, through the fixture made by
/// `scripts/golden/make_bundle_fixture.py` (see that script for how to refresh it).
@Suite("Messages: safetensors interop")
struct MessagesInteropTests {
    struct Fixture: Decodable {
        struct Tensor: Decodable {
            let dtype: String
            let shape: [Int]
            let values: [Value]
        }
        /// A JSON scalar, read every way it can be: F32 values as `double` (keeps -0.0), integer
        /// dtypes as `integer` (keeps 64-bit precision), BOOL as `bool`.
        struct Value: Decodable {
            let integer: Int64?, double: Double?, bool: Bool?
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                bool = try? container.decode(Bool.self)
                integer = bool == nil ? try? container.decode(Int64.self) : nil
                double = bool == nil ? try? container.decode(Double.self) : nil
            }
        }
        struct Expected: Decodable {
            let tensors: [String: Tensor]
            let metadata: [String: String]
        }
        let expected: Expected
        let python_written_base64: String
        let python_request_base64: String
        let swift_written_base64: String
    }

    static func loadFixture() throws -> Fixture {
        let url = TestPaths.repository.appendingPathComponent("Tests/Fixtures/bundles/python-golden.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// The bundle the fixture's `expected` section describes, built with the Swift API.
    static func expectedBundle(_ expected: Fixture.Expected) throws -> TensorBundle {
        var bundle = TensorBundle(metadata: expected.metadata)
        for (name, tensor) in expected.tensors {
            let values = tensor.values
            let built: BundleTensor
            switch TensorDType(rawValue: tensor.dtype) {
            case .f32: built = try BundleTensor(floats: values.compactMap { $0.double.map(Float.init) }, shape: tensor.shape)
            case .f16: built = try BundleTensor(float16Bits: values.map { UInt16($0.integer ?? -1) }, shape: tensor.shape)
            case .i64: built = try BundleTensor(int64s: values.compactMap(\.integer), shape: tensor.shape)
            case .i32: built = try BundleTensor(int32s: values.compactMap { $0.integer.map(Int32.init) }, shape: tensor.shape)
            case .u8: built = try BundleTensor(uint8s: values.compactMap { $0.integer.map(UInt8.init) }, shape: tensor.shape)
            case .bool: built = try BundleTensor(bools: values.compactMap(\.bool), shape: tensor.shape)
            case nil: throw TensorBundleError(.unsupportedDType, "fixture dtype \(tensor.dtype)")
            }
            try bundle.set(built, named: name)
        }
        return bundle
    }

    @Test func readsWhatPythonWrote() throws {
        let fixture = try Self.loadFixture()
        let bytes = try #require(Data(base64Encoded: fixture.python_written_base64))
        let decoded = try TensorBundle(decoding: bytes)
        let expected = try Self.expectedBundle(fixture.expected)
        #expect(decoded.names == expected.names)
        for name in expected.names {
            let got = try decoded.tensor(name), want = try expected.tensor(name)
            #expect(got.dtype == want.dtype && got.shape == want.shape, "\(name)")
            #expect(Array(got.bytes) == Array(want.bytes), "\(name) values differ")
        }
        #expect(decoded.metadata == fixture.expected.metadata)
        #expect(decoded == expected)
        #expect(try decoded.text("caption") == "a cat — café \"quoted\"")
        #expect(try decoded.tensor("embedding").floats()[4].sign == .minus)
        #expect(try decoded.tensor("ids").int64s()[2] == 9_007_199_254_740_993)
    }

    /// The committed Swift-written bytes were checked to load in Python (see the script); this
    /// keeps the encoder producing exactly those bytes.
    @Test func writesWhatPythonWasCheckedToRead() throws {
        let fixture = try Self.loadFixture()
        let encoded = try Self.expectedBundle(fixture.expected).encoded()
        let base64 = Data(encoded).base64EncodedString()
        #expect(
            fixture.swift_written_base64 == base64,
            "Swift's encoding differs from the Python-checked one; check and record it with scripts/golden/make_bundle_fixture.py --swift-base64 \(base64)")
        #expect(try TensorBundle(decoding: encoded) == Self.expectedBundle(fixture.expected))
    }

    /// A request bundle built with Python's safetensors, as topics.md shows external clients.
    @Test func readsAPythonRequestBundle() throws {
        let fixture = try Self.loadFixture()
        let payload = try #require(Data(base64Encoded: fixture.python_request_base64))
        let request = try TaskRequest(
            payload: [UInt8](payload), properties: MessageProperties(contentType: TensorBundle.contentType), topicTask: "match-image-text")
        #expect(request.requestID == "py-req-1")
        #expect(request.inputs["text"] == .text("a photo of a cat"))
        #expect(request.inputs["image"] == .media(contentType: "image/jpeg", bytes: [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8)))
        // Without a content type the bundle is recognised too.
        #expect(try TaskRequest(payload: [UInt8](payload), properties: MessageProperties(), topicTask: "match-image-text") == request)
    }
}
