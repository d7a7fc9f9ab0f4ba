// tenderd — the tenderhall server. Everything lives in tender::app so tests and benchmarks link it.
#include <tender/app/tenderd.hpp>

int main(int argc, char** argv) {
  return tender::app::tenderd_main(argc, argv);
}
