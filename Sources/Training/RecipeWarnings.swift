/// Settings that run, but probably not as meant: the trainer prints each at the start of a run.
extension Recipe {
    public var warnings: [String] {
        var warnings: [String] = []
        if schedule.warmup >= train.steps {
            warnings.append("warning: schedule.warmup (\(schedule.warmup)) ≥ train.steps (\(train.steps)): the learning rate "
                + "never reaches optim.lr (\(optim.lr)); the run ends inside its warmup")
        }
        return warnings
    }
}
