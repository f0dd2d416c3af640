// The fixture directory, compiled into this one small file: its absolute
// path differs between clones, and as a definition on the test sources it
// would make each of them miss the compiler cache in every fresh clone.
const char* edu_bench_report_test_data_dir() {
  return EDU_BENCH_REPORT_TEST_DATA;
}
