import Foundation
import Testing

@testable import S2M3Core

@Suite("TensorBundle")
struct TensorBundleTests {
    /// A payload with the given header text and data bytes, with an honest length prefix.
    static func payload(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + headerBytes + data
    }

    static func sample() throws -> TensorBundle {
        var bundle = TensorBundle(metadata: ["s2m3.request-id": "r-1", "quote": "a \"b\" \\ c\n"])
        try bundle.set(BundleTensor(floats: [1.5, -2, 0, .greatestFiniteMagnitude], shape: [2, 2]), named: "embedding")
        try bundle.set(BundleTensor(float16Bits: [0x3C00, 0xC000], shape: [2]), named: "half")
        try bundle.set(BundleTensor(int64s: [.min, -1, .max]), named: "ids")
        try bundle.set(BundleTensor(int32s: [7]), named: "one")
        try bundle.set(BundleTensor(bools: [true, false, true]), named: "mask")
        try bundle.set(BundleTensor(floats: [3.25], shape: []), named: "scalar")
        try bundle.set(BundleTensor(floats: [], shape: [0, 3]), named: "empty")
        try bundle.setText("naïve \"text\" ✓", named: "caption")
        try bundle.setTexts(["a cat", "a \"dog\"", ""], named: "candidates")
        try bundle.setMedia([0xFF, 0xD8, 0xFF, 0xE0], contentType: "image/jpeg", named: "image")
        return bundle
    }

    @Test func roundTripKeepsEveryTensorAndMetadata() throws {
        let bundle = try Self.sample()
        let bytes = bundle.encoded()
        let decoded = try TensorBundle(decoding: bytes)
        #expect(decoded == bundle)
        #expect(try decoded.tensor("embedding").floats() == [1.5, -2, 0, .greatestFiniteMagnitude])
        #expect(try decoded.tensor("embedding").shape == [2, 2])
        #expect(try decoded.tensor("half").float16Bits() == [0x3C00, 0xC000])
        #expect(try decoded.tensor("ids").int64s() == [.min, -1, .max])
        #expect(try decoded.tensor("one").int32s() == [7])
        #expect(try decoded.tensor("mask").bools() == [true, false, true])
        #expect(try decoded.tensor("scalar").shape == [])
        #expect(try decoded.tensor("scalar").floats() == [3.25])
        #expect(try decoded.tensor("empty").elementCount == 0)
        #expect(try decoded.text("caption") == "naïve \"text\" ✓")
        #expect(try decoded.texts("candidates") == ["a cat", "a \"dog\"", ""])
        let media = try decoded.media("image")
        #expect(media.contentType == "image/jpeg" && media.bytes == [0xFF, 0xD8, 0xFF, 0xE0])
        #expect(decoded.contentType(of: "embedding") == nil)
        #expect(decoded.metadata["quote"] == "a \"b\" \\ c\n")
        #expect(try TensorBundle(decoding: Data(bytes)) == bundle)
    }

    @Test func layoutIsAlignedAndDeterministic() throws {
        let bundle = try Self.sample()
        let bytes = bundle.encoded()
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        #expect((8 + headerLength) % 8 == 0)
        #expect(bytes[8] == UInt8(ascii: "{"))
        #expect(try Self.sample().encoded() == bytes)
        // Tensors are laid out by element size, largest first: the I64 tensor starts the data.
        let decoded = try TensorBundle(decoding: bytes)
        #expect(decoded["ids"]?.bytes.startIndex == 8 + headerLength)
    }

    @Test func decodedTensorsShareThePayload() throws {
        var bundle = TensorBundle()
        try bundle.set(BundleTensor(uint8s: Array(repeating: 9, count: 64)), named: "x")
        let bytes = bundle.encoded()
        let decoded = try TensorBundle(decoding: bytes)
        let slice = try #require(decoded["x"]).bytes
        let sharesStorage = bytes.withUnsafeBufferPointer { whole in
            slice.withUnsafeBufferPointer { part in
                part.baseAddress == whole.baseAddress.map { $0 + slice.startIndex }
            }
        }
        #expect(sharesStorage)
    }

    @Test func emptyBundleRoundTrips() throws {
        let bytes = TensorBundle().encoded()
        #expect(bytes.count == 16)
        #expect(try TensorBundle(decoding: bytes) == TensorBundle())
    }

    // MARK: Validation

    static let badPayloads: [(String, [UInt8], TensorBundleError.Code)] = [
        ("short", [1, 2, 3], .truncated),
        ("length past end", payload(header: "{}", declaredLength: 50), .headerLengthBeyondPayload),
        ("length over limit", payload(header: "{}", declaredLength: UInt64(TensorBundle.defaultMaxHeaderBytes) + 1), .headerTooLarge),
        ("length huge", payload(header: "{}", declaredLength: .max), .headerTooLarge),
        ("not JSON", payload(header: "{nope"), .headerNotJSON),
        ("not an object", payload(header: "[1,2]"), .headerNotJSON),
        ("not UTF-8", [2, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF], .headerNotJSON),
        ("unknown dtype", payload(header: #"{"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), .unsupportedDType),
        ("missing shape", payload(header: #"{"x":{"dtype":"U8","data_offsets":[0,1]}}"#, data: [0]), .invalidTensorEntry),
        ("fraction in shape", payload(header: #"{"x":{"dtype":"U8","shape":[0.5],"data_offsets":[0,1]}}"#, data: [0]), .invalidTensorEntry),
        ("one offset", payload(header: #"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#, data: [0]), .invalidTensorEntry),
        ("negative dim", payload(header: #"{"x":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}"#), .invalidShape),
        ("overflowing shape", payload(header: #"{"x":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#), .invalidShape),
        ("offsets past data", payload(header: #"{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, data: [0, 0]), .offsetsOutOfBounds),
        ("offsets reversed", payload(header: #"{"x":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}"#, data: [0, 0]), .offsetsOutOfBounds),
        ("size mismatch", payload(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .sizeMismatch),
        ("overlap", payload(header: #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#, data: [0, 0, 0, 0]), .offsetsOverlap),
        ("gap", payload(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}"#, data: [0, 0, 0, 0]), .unusedBytes),
        ("trailing bytes", payload(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [0, 0]), .unusedBytes),
        ("metadata not strings", payload(header: #"{"__metadata__":{"k":1}}"#), .invalidMetadata),
        ("empty name", payload(header: #"{"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#), .invalidTensorName),
        ("tensor twice", payload(header: #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#), .invalidTensorName),
        ("metadata twice", payload(header: #"{"__metadata__":{},"__metadata__":{}}"#), .invalidMetadata),
        ("metadata key twice", payload(header: #"{"__metadata__":{"k":"a","k":"b"}}"#), .invalidMetadata),
        ("dtype twice", payload(header: #"{"x":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#), .invalidTensorEntry),
        ("exponent in offsets", payload(header: #"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}"#, data: [0]), .invalidTensorEntry),
        ("offset past Int", payload(header: #"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,9223372036854775808]}}"#, data: [0]), .invalidTensorEntry),
        ("string in shape", payload(header: #"{"x":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}"#, data: [0]), .invalidTensorEntry),
        ("entry not an object", payload(header: #"{"x":[1]}"#), .invalidTensorEntry),
        ("leading zero", payload(header: #"{"x":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}"#, data: [0]), .headerNotJSON),
        ("trailing comma", payload(header: #"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},}"#, data: [0]), .headerNotJSON),
        ("text after the object", payload(header: #"{} x"#), .headerNotJSON),
        ("unclosed string", payload(header: #"{"x"#), .headerNotJSON),
        ("control character in a name", payload(header: "{\"a\u{01}\":{}}"), .headerNotJSON),
        ("bad escape", payload(header: #"{"a\q":{}}"#), .headerNotJSON),
        ("lone surrogate", payload(header: #"{"__metadata__":{"k":"\udc00"}}"#), .headerNotJSON),
        ("high surrogate alone", payload(header: #"{"__metadata__":{"k":"\ud800x"}}"#), .headerNotJSON),
        ("deep nesting", payload(header: #"{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"extra":"# + String(repeating: "[", count: 100_000) + "}}"), .headerNotJSON),
        ("UTF-8 cut in a name", [5, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x22, 0xC3, 0x22, 0x7D], .headerNotJSON),
    ]

    /// Any spelling JSON allows: spaces anywhere, escapes, keys in any order, and unknown keys
    /// (skipped whatever they hold).
    @Test func readsAnyValidJSONSpelling() throws {
        let header = #"""
             {  "__metadata__" : { "k\u00e9y" : "a\"b\\c\/\n\t\ud83d\ude00" } ,
            "x\u0041" : { "shape" : [ 2 ] , "extra" : { "a" : [ true , false , null , -1.5e+3 , "s" , { } , [ ] ] } ,
            "data_offsets" : [ 0 , 2 ] , "dtype" : "U8" } }
            """# + "\t\r\n"
        let bundle = try TensorBundle(decoding: Self.payload(header: header, data: [7, 9]))
        #expect(bundle.metadata == ["kéy": "a\"b\\c/\n\t😀"])
        #expect(try bundle.tensor("xA").uint8s() == [7, 9])
    }

    /// The error decoding `bytes` throws, or nil when it decodes.
    static func decodingError(_ bytes: [UInt8]) -> TensorBundleError? {
        do {
            _ = try TensorBundle(decoding: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: badPayloads.indices)
    func rejectsBadPayload(_ index: Int) throws {
        let (label, bytes, code) = Self.badPayloads[index]
        let error = try #require(Self.decodingError(bytes), "\(label) decoded")
        #expect(error.code == code, "\(label): \(error)")
        #expect(!error.message.isEmpty)
    }

    @Test func errorNamesTheTensor() {
        let bytes = Self.payload(header: #"{"logits":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        let error = Self.decodingError(bytes)
        #expect(error?.message.contains("logits") == true)
        #expect(error?.description.contains("sizeMismatch") == true)
    }

    @Test func headerLimitIsConfigurable() throws {
        let bytes = try Self.sample().encoded()
        #expect(throws: TensorBundleError.self) { try TensorBundle(decoding: bytes, maxHeaderBytes: 64) }
        #expect(try TensorBundle(decoding: bytes, maxHeaderBytes: 4096) == Self.sample())
    }

    @Test func paddedHeaderWithSpacesIsAccepted() throws {
        let bytes = Self.payload(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}   "#, data: [5])
        #expect(try TensorBundle(decoding: bytes).tensor("a").uint8s() == [5])
    }

    // MARK: Construction and access errors

    @Test func constructionChecksShapeAndNames() {
        #expect(throws: TensorBundleError.self) { try BundleTensor(floats: [1, 2, 3], shape: [2, 2]) }
        #expect(throws: TensorBundleError.self) { try BundleTensor(int32s: [1], shape: [-1]) }
        var bundle = TensorBundle()
        #expect(throws: TensorBundleError.self) { try bundle.set(BundleTensor(uint8s: [1]), named: "__metadata__") }
        #expect(throws: TensorBundleError.self) { try bundle.set(BundleTensor(uint8s: [1]), named: "") }
    }

    @Test func accessChecksDTypeAndPresence() throws {
        let bundle = try Self.sample()
        #expect(throws: TensorBundleError.self) { try bundle.tensor("embedding").int64s() }
        #expect(throws: TensorBundleError.self) { try bundle.tensor("nothing") }
        #expect(throws: TensorBundleError.self) { try bundle.media("embedding") }
        var bad = TensorBundle()
        try bad.set(BundleTensor(uint8s: [0xFF, 0xFE]), named: "t")
        #expect(throws: TensorBundleError.self) { try bad.text("t") }
        #expect(throws: TensorBundleError.self) { try bad.texts("t") }
    }

    @Test func removingATensorDropsItsMarker() throws {
        var bundle = try Self.sample()
        bundle.removeTensor(named: "image")
        #expect(bundle["image"] == nil && bundle.contentType(of: "image") == nil)
    }
}
