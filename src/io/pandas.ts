// The pandas index recorded in Parquet/Feather schema metadata lives with the id rules in the core;
// re-exported here for reader users.
export { pandasIndex, type PandasIndexInfo } from '../core/ids';
