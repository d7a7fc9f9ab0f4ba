#pragma once

// Prepared statements for the hot paths of the db layer. Private to the db layer.
//
// The opening hall runs the same few statements for every one of thousands of bidders, most of
// them while the hall's row is locked; parsing and planning each one again costs PostgreSQL CPU
// that the machine's other work (the hall's fan-out, the clients) needs.

#include <pqxx/pqxx>

#include <utility>

namespace tender::db {

// Runs `sql` as the prepared statement `name` on the transaction's connection. libpqxx keeps the
// definition per connection, prepares it on first use and again after a reconnect; defining the
// same name with the same text again is free. One name must always come with one text (an
// inconsistent redefinition throws), so pass string constants.
template <class... Args>
pqxx::result exec_prepared_sql(pqxx::transaction_base& tx, const char* name, const char* sql,
                               Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

}  // namespace tender::db
