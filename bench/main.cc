#include "bench/cli.h"

int main(int argc, char** argv) { return racesgd::run_cli(argc, argv); }
