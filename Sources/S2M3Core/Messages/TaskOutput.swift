/// One named output of a task result, tagged by `kind` in JSON:
/// `{"kind": "labels", "labels": [{"label": "Egyptian cat", "score": 0.79}]}`,
/// `{"kind": "text", "text": "…"}`, `{"kind": "texts", "texts": ["…"]}`,
/// `{"kind": "embedding", "embedding": [0.01, …]}`.
public enum TaskOutput: Codable, Sendable, Hashable {
    case labels([ScoredLabel])
    case text(String)
    case texts([String])
    case embedding([Float])

    public struct ScoredLabel: Codable, Sendable, Hashable {
        public var label: String
        public var score: Double
        public init(label: String, score: Double) {
            self.label = label
            self.score = score
        }
    }

    public enum Kind: String, MessageEnum {
        case labels, text, texts, embedding
    }

    private enum CodingKeys: String, CodingKey {
        case kind, labels, text, texts, embedding
    }

    public var kind: Kind {
        switch self {
        case .labels: .labels
        case .text: .text
        case .texts: .texts
        case .embedding: .embedding
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .kind) {
        case .labels: self = .labels(try container.decode([ScoredLabel].self, forKey: .labels))
        case .text: self = .text(try container.decode(String.self, forKey: .text))
        case .texts: self = .texts(try container.decode([String].self, forKey: .texts))
        case .embedding: self = .embedding(try container.decode([Float].self, forKey: .embedding))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .labels(let labels): try container.encode(labels, forKey: .labels)
        case .text(let text): try container.encode(text, forKey: .text)
        case .texts(let texts): try container.encode(texts, forKey: .texts)
        case .embedding(let values): try container.encode(values, forKey: .embedding)
        }
    }

    func validate(_ field: String) throws(MessageError) {
        switch self {
        case .labels(let labels):
            for (index, label) in labels.enumerated() {
                try MessageCheck.finite(label.score, "\(field).labels[\(index)].score")
            }
        case .embedding(let values):
            for (index, value) in values.enumerated() where !value.isFinite {
                throw MessageError(.invalidField, field: "\(field).embedding[\(index)]", "is \(value); must be finite")
            }
        case .text, .texts:
            break
        }
    }
}
