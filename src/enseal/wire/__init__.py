"""enseal.wire"""
