// The one translation unit that holds the compiled implementation of Boost.Asio (with SSL) and
// Boost.Beast; see CMakeLists.txt next to this file.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
