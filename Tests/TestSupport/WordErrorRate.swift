/// Word error rate: word-level edit distance over the reference's word count (case and punctuation ignored).
public func wordErrorRate(_ hypothesis: String, reference: String) -> Double {
    func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "'" }.map(String.init)
    }
    let h = words(hypothesis), r = words(reference)
    guard !r.isEmpty else { return h.isEmpty ? 0 : 1 }
    var previous = Array(0...h.count)
    for i in 1...r.count {
        var current = [i] + [Int](repeating: 0, count: h.count)
        for j in 1...max(1, h.count) where j <= h.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return Double(previous[h.count]) / Double(r.count)
}
