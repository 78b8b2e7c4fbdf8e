// Runs dynalite (an in-memory DynamoDB on LevelDB) for the tests, with the
// three operations the conversation store needs that dynalite 4.0.0 lacks:
//
//   TransactWriteItems  all-or-nothing Put/Update/Delete/ConditionCheck, with
//                       TransactionCanceledException and CancellationReasons
//                       (and the old item when ReturnValuesOnConditionCheckFailure
//                       is ALL_OLD), as DynamoDB answers them;
//   UpdateTimeToLive    remembered per table, so DescribeTimeToLive reports it;
//   DescribeTimeToLive  reports what UpdateTimeToLive set.
//
// Everything else is dynalite's own handler. The transaction reuses
// dynalite's request validation, expression parser, condition evaluator and
// its PutItem/UpdateItem/DeleteItem actions, so expressions behave exactly
// as they do in single-item writes; atomicity comes from holding dynalite's
// per-item locks on every item of the transaction while the conditions are
// checked and the writes applied (and undoing applied writes if a later one
// fails). Like DynamoDB shortly after expiry, items past their TTL are not
// deleted: readers must ignore them.
//
// Usage: node dynalite-server.js --host 127.0.0.1 --port 8000 [--createTableMs 50]
'use strict'

const zlib = require('zlib')
const db = require('dynalite/db')

// dynalite keeps its store private; capture it as dynalite creates it.
let store
const createStore = db.create
db.create = function (options) {
  store = createStore.call(this, options)
  return store
}
const dynalite = require('dynalite')
const validations = require('dynalite/validations')

const ops = {
  Put: { action: require('dynalite/actions/putItem'), validation: require('dynalite/validations/putItem'), keyField: 'Item' },
  Update: { action: require('dynalite/actions/updateItem'), validation: require('dynalite/validations/updateItem'), keyField: 'Key' },
  Delete: { action: require('dynalite/actions/deleteItem'), validation: require('dynalite/validations/deleteItem'), keyField: 'Key' },
  // A condition check has the shape of a conditional DeleteItem and writes nothing.
  ConditionCheck: { action: null, validation: require('dynalite/validations/deleteItem'), keyField: 'Key' },
}

const ttlByTable = new Map()

function send (res, status, body) {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('Content-Type', 'application/x-amz-json-1.0')
  res.setHeader('x-amz-crc32', String(zlib.crc32(text)))
  res.setHeader('x-amzn-RequestId', 'shim' + Date.now().toString(36) + Math.random().toString(36).slice(2))
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(text)
}

function validationError (message) {
  return { statusCode: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } }
}

function fail (res, err) {
  if (err && err.statusCode) return send(res, err.statusCode, err.body)
  console.error('[dynalite-server]', err)
  send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(err && err.message) })
}

// keyString names an item uniquely within its table.
function keyString (table, item) {
  return table.KeySchema.map(k => JSON.stringify(item[k.AttributeName])).join('\u0000')
}

// prepare validates one transact item and resolves its table and key.
function prepare (entry, index, cb) {
  const kinds = Object.keys(entry).filter(k => ops[k])
  if (kinds.length !== 1) return cb(validationError('TransactItems[' + index + '] must hold exactly one of Put, Update, Delete or ConditionCheck'))
  const kind = kinds[0]
  const op = ops[kind]
  const raw = entry[kind]
  if (kind === 'ConditionCheck' && !raw.ConditionExpression) return cb(validationError('ConditionCheck requires a ConditionExpression'))
  let data
  try {
    data = validations.checkTypes(Object.assign({}, raw), op.validation.types)
    validations.checkValidations(data, op.validation.types, op.validation.custom, store)
  }
  catch (err) {
    return cb(err)
  }
  store.getTable(data.TableName, function (err, table) {
    if (err) return cb(err)
    const key = data[op.keyField]
    const invalid = kind === 'Put' ? db.validateItem(key, table) : db.validateKey(key, table)
    if (invalid) return cb(invalid)
    cb(null, {
      kind, op, data, table,
      returnOld: raw.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
      dbKey: db.createKey(key, table),
      id: keyString(table, key),
    })
  })
}

function prepareAll (items, cb) {
  const out = new Array(items.length)
  let pending = items.length, done = false
  items.forEach(function (entry, i) {
    prepare(entry, i, function (err, p) {
      if (done) return
      if (err) { done = true; return cb(err) }
      out[i] = p
      if (--pending === 0) { done = true; cb(null, out) }
    })
  })
}

// lockAll takes dynalite's item locks on every item, table by table in name
// order and all keys of one table at once, so two transactions can never
// wait on each other.
function lockAll (prepared, cb) {
  const byTable = new Map()
  for (const p of prepared) {
    if (!byTable.has(p.data.TableName)) byTable.set(p.data.TableName, [])
    byTable.get(p.data.TableName).push(p.dbKey)
  }
  const names = [...byTable.keys()].sort()
  const releases = []
  const releaseAll = function () { releases.reverse().forEach(r => r(function () {})()) }
  ;(function next (i) {
    if (i === names.length) return cb(releaseAll)
    store.getItemDb(names[i]).lock(byTable.get(names[i]), function (release) {
      releases.push(release)
      next(i + 1)
    })
  })(0)
}

// A store whose item locks are no-ops: the transaction already holds them.
function lockedStore () {
  return new Proxy(store, {
    get (target, prop) {
      if (prop !== 'getItemDb') return target[prop]
      return function (name) {
        const itemDb = target.getItemDb(name)
        return new Proxy(itemDb, {
          get (t, p) {
            if (p === 'lock') return function (key, fn) { fn(function (done) { return done }) }
            const v = t[p]
            return typeof v === 'function' ? v.bind(t) : v
          },
        })
      }
    },
  })
}

function getItem (p, cb) {
  store.getItemDb(p.data.TableName).get(p.dbKey, function (err, item) {
    if (err && err.name !== 'NotFoundError') return cb(err)
    cb(null, err ? undefined : item)
  })
}

function getAll (prepared, cb) {
  const out = new Array(prepared.length)
  ;(function next (i) {
    if (i === prepared.length) return cb(null, out)
    getItem(prepared[i], function (err, item) {
      if (err) return cb(err)
      out[i] = item
      next(i + 1)
    })
  })(0)
}

// restore puts back the item as it was before the transaction wrote it.
function restore (locked, p, oldItem, cb) {
  getItem(p, function (err, newItem) {
    if (err) return cb(err)
    db.updateIndexes(locked, p.table, newItem, oldItem, function (err) {
      if (err) return cb(err)
      const itemDb = store.getItemDb(p.data.TableName)
      if (oldItem) itemDb.put(p.dbKey, oldItem, cb)
      else itemDb.del(p.dbKey, cb)
    })
  })
}

function transactWriteItems (data, res) {
  const items = Array.isArray(data.TransactItems) ? data.TransactItems : []
  if (items.length < 1 || items.length > 100) return fail(res, validationError('TransactItems must hold between 1 and 100 items'))
  prepareAll(items, function (err, prepared) {
    if (err) return fail(res, err)
    const seen = new Set()
    for (const p of prepared) {
      const id = p.data.TableName + '\u0000' + p.id
      if (seen.has(id)) return fail(res, validationError('Transaction request cannot include multiple operations on one item'))
      seen.add(id)
    }
    lockAll(prepared, function (releaseAll) {
      const finish = function (status, body) { releaseAll(); send(res, status, body) }
      const finishErr = function (err) { releaseAll(); fail(res, err) }
      getAll(prepared, function (err, olds) {
        if (err) return finishErr(err)
        let failed = false
        const reasons = prepared.map(function (p, i) {
          if (db.checkConditional(p.data, olds[i]) == null) return { Code: 'None' }
          failed = true
          const r = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }
          if (p.returnOld && olds[i]) r.Item = olds[i]
          return r
        })
        if (failed) {
          return finish(400, {
            __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
            Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [' + reasons.map(r => r.Code).join(', ') + ']',
            CancellationReasons: reasons,
          })
        }
        const locked = lockedStore()
        const applied = []
        ;(function apply (i) {
          if (i === prepared.length) return finish(200, {})
          const p = prepared[i]
          if (!p.op.action) return apply(i + 1)
          p.op.action(locked, p.data, function (err) {
            if (!err) { applied.push(i); return apply(i + 1) }
            // Undo what was written, newest first, then report the failure.
            ;(function undo (j) {
              if (j < 0) return finishErr(err)
              restore(locked, prepared[applied[j]], olds[applied[j]], function (undoErr) {
                if (undoErr) console.error('[dynalite-server] undo failed', undoErr)
                undo(j - 1)
              })
            })(applied.length - 1)
          })
        })(0)
      })
    })
  })
}

function updateTimeToLive (data, res) {
  const spec = data.TimeToLiveSpecification
  if (!spec || typeof spec.AttributeName !== 'string' || typeof spec.Enabled !== 'boolean') {
    return fail(res, validationError('TimeToLiveSpecification needs AttributeName and Enabled'))
  }
  store.getTable(data.TableName, false, function (err) {
    if (err) return fail(res, err)
    const current = ttlByTable.get(data.TableName)
    if (spec.Enabled && current) return fail(res, validationError('TimeToLive is already enabled'))
    if (!spec.Enabled && !current) return fail(res, validationError('TimeToLive is already disabled'))
    if (spec.Enabled) ttlByTable.set(data.TableName, spec.AttributeName)
    else ttlByTable.delete(data.TableName)
    send(res, 200, { TimeToLiveSpecification: spec })
  })
}

function describeTimeToLive (data, res) {
  store.getTable(data.TableName, false, function (err) {
    if (err) return fail(res, err)
    const name = ttlByTable.get(data.TableName)
    send(res, 200, { TimeToLiveDescription: name ? { TimeToLiveStatus: 'ENABLED', AttributeName: name } : { TimeToLiveStatus: 'DISABLED' } })
  })
}

const extra = { TransactWriteItems: transactWriteItems, UpdateTimeToLive: updateTimeToLive, DescribeTimeToLive: describeTimeToLive }

// Flags are --name value pairs; anything else is an error, so a typo is not ignored.
const argv = {}
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i], value = process.argv[i + 1]
  if (!/^--(host|port|createTableMs|deleteTableMs|updateTableMs)$/.test(name) || value === undefined) {
    console.error('usage: node dynalite-server.js --host HOST --port PORT [--createTableMs MS] [--deleteTableMs MS] [--updateTableMs MS]')
    process.exit(2)
  }
  argv[name.slice(2)] = value
}
const ms = v => (v === undefined ? undefined : Number(v))
const server = dynalite({ createTableMs: ms(argv.createTableMs), deleteTableMs: ms(argv.deleteTableMs), updateTableMs: ms(argv.updateTableMs) })
const dynaliteHandler = server.listeners('request')[0]
server.removeAllListeners('request')
server.on('request', function (req, res) {
  const target = String(req.headers['x-amz-target'] || '').split('.')[1]
  const handle = req.method === 'POST' && extra[target]
  if (!handle) return dynaliteHandler(req, res)
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', function () {
    let data
    try {
      data = JSON.parse(Buffer.concat(chunks).toString() || '{}')
    }
    catch {
      return send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' })
    }
    try {
      handle(data, res)
    }
    catch (err) {
      fail(res, err)
    }
  })
})
server.listen(Number(argv.port || 4567), argv.host || '127.0.0.1', function () {
  const addr = server.address()
  console.log('dynalite listening on http://' + addr.address + ':' + addr.port)
})
