/// A bundle's JSON header as read (``JSONReader``), before its entries are checked against the
/// data section. RFC 8259 JSON, stricter than the safetensors format needs nowhere else: a tensor
/// or metadata entry given twice is refused (JSON leaves duplicate names undefined), and values
/// under keys it does not know are skipped.
struct BundleHeader {
    struct Entry {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]
    }

    var metadata: [String: String] = [:]
    var entries: [(name: String, entry: Entry)] = []

    /// Reads `bytes[range]` as a header object.
    static func parse(_ bytes: [UInt8], _ range: Range<Int>) throws(TensorBundleError) -> BundleHeader {
        var reader = JSONReader<TensorBundleError>(bytes, range)
        return try reader.header()
    }
}

extension TensorBundleError: JSONReadFailure {
    static func syntax(expected: String, offset: Int, found: String?) -> TensorBundleError {
        TensorBundleError(
            .headerNotJSON, "header is not a JSON object of tensors: expected \(expected) at header byte \(offset), found \(found ?? "the end of the header")")
    }

    static func notUTF8(offset: Int) -> TensorBundleError {
        TensorBundleError(.headerNotJSON, "header is not UTF-8 (a string at header byte \(offset))")
    }
}

extension JSONReader<TensorBundleError> {
    mutating func header() throws(TensorBundleError) -> BundleHeader {
        var header = BundleHeader()
        var names = Set<String>()
        var sawMetadata = false
        try object { (reader: inout JSONReader, name: String) throws(TensorBundleError) in
            if name == "__metadata__" {
                guard !sawMetadata else { throw TensorBundleError(.invalidMetadata, "__metadata__ is given twice") }
                sawMetadata = true
                header.metadata = try reader.metadata()
                return
            }
            guard !name.isEmpty else { throw TensorBundleError(.invalidTensorName, "the header has a tensor with an empty name") }
            guard names.insert(name).inserted else { throw TensorBundleError(.invalidTensorName, "tensor '\(name)' is given twice") }
            header.entries.append((name, try reader.entry(name)))
        }
        try expectEnd("the header object")
        return header
    }

    mutating func metadata() throws(TensorBundleError) -> [String: String] {
        var metadata: [String: String] = [:]
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw TensorBundleError(.invalidMetadata, "__metadata__ must be an object of string values") }
        try object { (reader: inout JSONReader, key: String) throws(TensorBundleError) in
            reader.skipSpace()
            guard reader.peek == UInt8(ascii: "\"") else {
                throw TensorBundleError(.invalidMetadata, "__metadata__ must be an object of string values; '\(key)' is not a string")
            }
            guard metadata.updateValue(try reader.string(), forKey: key) == nil else {
                throw TensorBundleError(.invalidMetadata, "__metadata__ gives '\(key)' twice")
            }
        }
        return metadata
    }

    mutating func entry(_ name: String) throws(TensorBundleError) -> BundleHeader.Entry {
        func invalid(_ why: String) -> TensorBundleError {
            TensorBundleError(.invalidTensorEntry, "tensor '\(name)' needs dtype (string), shape (whole numbers) and data_offsets (two whole numbers): \(why)")
        }
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw invalid("its entry is not an object") }
        try object { (reader: inout JSONReader, key: String) throws(TensorBundleError) in
            reader.skipSpace()
            switch key {
            case "dtype":
                guard dtype == nil else { throw invalid("dtype is given twice") }
                guard reader.peek == UInt8(ascii: "\"") else { throw invalid("dtype is not a string") }
                dtype = try reader.string()
            case "shape", "data_offsets":
                guard (key == "shape" ? shape : offsets) == nil else { throw invalid("\(key) is given twice") }
                let numbers = try reader.wholeNumbers(key, invalid)
                if key == "shape" { shape = numbers } else { offsets = numbers }
            default:
                try reader.skipValue(depth: 0)
            }
        }
        guard let dtype else { throw invalid("dtype is missing") }
        guard let shape else { throw invalid("shape is missing") }
        guard let offsets else { throw invalid("data_offsets is missing") }
        return BundleHeader.Entry(dtype: dtype, shape: shape, offsets: offsets)
    }
}
