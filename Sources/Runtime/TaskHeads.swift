/// Parameter-free task heads: pure functions on float vectors, used by the built-in modules
/// `top-k`, `cosine-match` and `label-bridge` (docs/models.md).
public enum TaskHeads {
    /// Numerically stable softmax.
    public static func softmax(_ logits: [Float]) -> [Float] {
        guard let peak = logits.max() else { return [] }
        let exps = logits.map { expf($0 - peak) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }

    /// The `k` largest scores with their indices, largest first; ties keep the lower index first.
    ///
    /// A few of many (top-k's 5 of 1,000 classes, on every classify-image request) are selected in
    /// one pass; a large share is sorted. Both give the same answer (`TaskHeadsTests`).
    public static func topK(_ scores: [Float], k: Int) -> [(index: Int, score: Float)] {
        let k = min(max(0, k), scores.count)
        guard k > 0 else { return [] }
        guard k <= 16, k * 8 <= scores.count else { return sortedTopK(scores, k: k) }
        var best: [(index: Int, score: Float)] = []
        best.reserveCapacity(k + 1)
        for (index, score) in scores.enumerated() {
            // Indices rise, so a tie never displaces an earlier entry.
            guard best.count < k || score > best[k - 1].score else { continue }
            var position = best.count
            while position > 0, best[position - 1].score < score { position -= 1 }
            best.insert((index, score), at: position)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// ``topK(_:k:)`` by sorting every score.
    static func sortedTopK(_ scores: [Float], k: Int) -> [(index: Int, score: Float)] {
        scores.enumerated()
            .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(max(0, k))
            .map { (index: $0.offset, score: $0.element) }
    }

    /// Cosine similarity; 0 when either vector is zero or the lengths differ.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in a.indices {
            dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]
        }
        guard na > 0, nb > 0 else { return 0 }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    /// Cosine similarity of `query` with each candidate.
    public static func cosineMatch(query: [Float], candidates: [[Float]]) -> [Float] {
        candidates.map { cosine(query, $0) }
    }

    /// The label bridge: an image's class probabilities mapped into the text-embedding space as
    /// `probabilities × labelEmbeddings` (rows: one embedding per class), L2-normalised.
    public static func labelBridge(probabilities: [Float], labelEmbeddings: [[Float]]) -> [Float] {
        guard let dimension = labelEmbeddings.first?.count, probabilities.count == labelEmbeddings.count else { return [] }
        var out = [Float](repeating: 0, count: dimension)
        for (p, row) in zip(probabilities, labelEmbeddings) where p > 0 {
            for j in 0..<min(dimension, row.count) { out[j] += p * row[j] }
        }
        let norm = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? out.map { $0 / norm } : out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
