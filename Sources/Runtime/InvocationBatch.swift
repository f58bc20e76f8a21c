import S2M3Core

/// Invocations of one module run as one: their inputs joined along the first (batch) dimension,
/// the outputs split back by each invocation's share of it. Pure; used by the device agent's
/// state machine and by ``BatchingModule`` for modules whose every input and output leads with the
/// same symbolic batch dimension (``Catalog/ModuleManifest/isBatchable``).
public struct InvocationBatch: Sendable {
    /// Each member's size along the batch dimension, in order.
    public let sizes: [Int]

    /// The size along the batch dimension that all of `names` agree on in `inputs` (nil when an
    /// input is missing, a scalar, empty along it, or sized differently from the others).
    public static func size(of inputs: TensorBundle, names: [String]) -> Int? {
        var size: Int?
        for name in names {
            guard let tensor = inputs[name], let first = tensor.shape.first, first > 0, size == nil || size == first else { return nil }
            size = first
        }
        return size
    }

    /// Whether `candidate` can run in one batch with `lead`: for each input the same dtype and the
    /// same dimensions after the first, and a batch size of its own.
    public static func fits(_ candidate: TensorBundle, with lead: TensorBundle, names: [String]) -> Bool {
        guard size(of: candidate, names: names) != nil else { return false }
        return names.allSatisfy { name in
            guard let a = candidate[name], let b = lead[name] else { return false }
            return a.dtype == b.dtype && a.shape.dropFirst() == b.shape.dropFirst()
        }
    }

    /// The inputs of `members` (each checked with ``fits(_:with:names:)`` against the first) joined
    /// into one bundle, with the first member's metadata; nil if they do not fit.
    public static func join(_ members: [TensorBundle], names: [String]) -> (inputs: TensorBundle, batch: InvocationBatch)? {
        guard let lead = members.first else { return nil }
        var sizes: [Int] = []
        for member in members {
            guard fits(member, with: lead, names: names), let size = size(of: member, names: names) else { return nil }
            sizes.append(size)
        }
        var joined = TensorBundle(metadata: lead.metadata)
        for name in names {
            let parts = members.compactMap { $0[name] }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(parts.reduce(0) { $0 + $1.bytes.count })
            for part in parts { bytes.append(contentsOf: part.bytes) }
            var shape = parts[0].shape
            shape[0] = sizes.reduce(0, +)
            guard let tensor = try? BundleTensor(dtype: parts[0].dtype, shape: shape, bytes: bytes),
                (try? joined.set(tensor, named: name)) != nil
            else { return nil }
        }
        return (joined, InvocationBatch(sizes: sizes))
    }

    /// The batch's outputs split back into one bundle per member, in order. Every output must lead
    /// with the batch's total size (the module gives one row per input row).
    public func split(_ outputs: TensorBundle) throws(InvocationBatchError) -> [TensorBundle] {
        let total = sizes.reduce(0, +)
        var parts = sizes.map { _ in TensorBundle(metadata: outputs.metadata) }
        for name in outputs.names {
            let tensor = try outputs.tensor(name, orThrow: InvocationBatchError("output '\(name)' is missing"))
            guard tensor.shape.first == total else {
                throw InvocationBatchError("output '\(name)' has shape \(tensor.shape), not \(total) rows for the \(sizes.count) joined invocations")
            }
            let rowBytes = tensor.bytes.count / total
            var offset = tensor.bytes.startIndex
            for (index, size) in sizes.enumerated() {
                var shape = tensor.shape
                shape[0] = size
                let end = offset + size * rowBytes
                do {
                    try parts[index].set(BundleTensor(dtype: tensor.dtype, shape: shape, bytes: Array(tensor.bytes[offset..<end])), named: name)
                } catch {
                    throw InvocationBatchError("output '\(name)' cannot be split: \(error)")
                }
                offset = end
            }
        }
        return parts
    }
}

/// The outputs of a batch could not be split back per invocation.
public struct InvocationBatchError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension TensorBundle {
    fileprivate func tensor(_ name: String, orThrow error: InvocationBatchError) throws(InvocationBatchError) -> BundleTensor {
        guard let tensor = self[name] else { throw error }
        return tensor
    }
}
