/// A coding key for JSON objects whose keys are data (tensor names, metadata keys).
struct AnyCodingKey: CodingKey, Hashable {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { (self.stringValue, self.intValue) = (stringValue, nil) }
    init(intValue: Int) { (self.stringValue, self.intValue) = (String(intValue), intValue) }
    init(_ string: String) { self.init(stringValue: string) }
}
