# The fuzz targets and what each links: one list for the libFuzzer build (preset `fuzz`,
# tests/fuzz/CMakeLists.txt) and for the short replay runs of the test suite
# (tests/CMakeLists.txt). Each <name>_fuzz.cpp has its seeds in corpus/<name>/.
set(tender_fuzz_targets sealed_header sealed_summary guarantee hall_message rest_body tus_headers
                        http_request)
set(tender_fuzz_libs_sealed_header tender::crypto)
set(tender_fuzz_libs_sealed_summary tender::crypto)
set(tender_fuzz_libs_guarantee tender::api tender::crypto)
set(tender_fuzz_libs_hall_message tender::core tender::protocol)
set(tender_fuzz_libs_rest_body tender::api tender::crypto)
set(tender_fuzz_libs_tus_headers tender::api)
set(tender_fuzz_libs_http_request tender::api tender::http tender::crypto)
# The libraries whose code the targets reach, instrumented for coverage in the libFuzzer build.
set(tender_fuzz_instrumented tender_crypto tender_protocol tender_core tender_http tender_api)
