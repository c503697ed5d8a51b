// The pandas index recorded in Parquet/Feather schema metadata (shared with the core's id rules),
// re-exported here for reader users.
export { pandasIndex, type PandasIndexInfo } from '../shared/pandas';
