import Foundation

/// One labelled text of a task: what a classifier reads and the label it should give.
public struct TaskExample: Sendable, Equatable {
    public var text: String
    public var label: String
    /// What the split kept together (a play, a man page, a source file); examples of one group share a split.
    public var group: String

    public init(text: String, label: String, group: String = "") {
        self.text = text
        self.label = label
        self.group = group
    }
}

/// The training and development examples one few-shot run sees.
public struct TaskSplits: Sendable, Equatable {
    public var train: [TaskExample]
    public var dev: [TaskExample]
    public init(train: [TaskExample], dev: [TaskExample]) { (self.train, self.dev) = (train, dev) }
}

/// A task's problem a user can cause (a missing file, a label outside the task's list), as one line.
public struct TaskError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description.replacingOccurrences(of: "\n", with: "\\n") }
}
